/**
 * How amazon-efs-utils reaches an instance, decided from its /etc/os-release as AWS supports it: Amazon Linux 2
 * and 2023 have the package in Amazon's own repositories; every other distribution gets it through the Systems
 * Manager Distributor package AmazonEFSUtils (document AWS-ConfigureAWSPackage, action Install).
 */
import type { InstanceFacts, OsRelease } from './instanceFacts';

export const DISTRIBUTOR_PACKAGE = 'AmazonEFSUtils';
export const DISTRIBUTOR_DOCUMENT = 'AWS-ConfigureAWSPackage';

export type InstallRoute =
  | { kind: 'installed' }
  | { kind: 'amazon-repositories'; packageManager: 'dnf' | 'yum' }
  | { kind: 'distributor'; packageName: typeof DISTRIBUTOR_PACKAGE };

export function isAmazonLinux(os: OsRelease): boolean {
  return os.id === 'amzn' && (os.versionId === '2' || os.versionId === '2023');
}

export function chooseInstallRoute(facts: Pick<InstanceFacts, 'os' | 'mountEfsInstalled'>): InstallRoute {
  if (facts.mountEfsInstalled) return { kind: 'installed' };
  if (isAmazonLinux(facts.os)) return { kind: 'amazon-repositories', packageManager: facts.os.versionId === '2' ? 'yum' : 'dnf' };
  return { kind: 'distributor', packageName: DISTRIBUTOR_PACKAGE };
}

export function osInWords(os: OsRelease): string {
  return os.id ? `${os.id}${os.versionId ? ` ${os.versionId}` : ''}` : 'an unknown distribution (no /etc/os-release)';
}

export function installRouteInWords(route: InstallRoute, os: OsRelease): string {
  if (route.kind === 'installed') return `mount.efs is installed on ${osInWords(os)}: nothing to install`;
  if (route.kind === 'amazon-repositories') return `${route.packageManager} install amazon-efs-utils from Amazon's repositories (${osInWords(os)})`;
  return `the Distributor package ${route.packageName} through ${DISTRIBUTOR_DOCUMENT} (action Install) on ${osInWords(os)}, which has no amazon-efs-utils in its own repositories`;
}

/** Both routes, for the dry run, which sends nothing and so cannot read the instance's os-release. */
export const INSTALL_ROUTES_IN_WORDS = `Amazon Linux 2 / 2023: yum / dnf install amazon-efs-utils from Amazon's repositories; any other distribution: the Distributor package ${DISTRIBUTOR_PACKAGE} through ${DISTRIBUTOR_DOCUMENT} (action Install); chosen from /etc/os-release by gatherInstanceFacts`;

/** What the operator can do when the Distributor route failed too. */
export function distributorFailureAdvice(instanceId: string, reason: string): string {
  return (
    `installing ${DISTRIBUTOR_PACKAGE} on ${instanceId} through ${DISTRIBUTOR_DOCUMENT} failed (${reason}). ` +
    `Give the instance profile the AmazonSSMManagedInstanceCore policy (Distributor downloads the package from S3 with it) ` +
    `and make sure the instance reaches S3 (a NAT gateway or an S3 gateway endpoint), or build amazon-efs-utils from ` +
    `https://github.com/aws/efs-utils (./build-deb.sh or make rpm), install it, and run the mount again`
  );
}
