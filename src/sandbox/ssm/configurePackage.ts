/**
 * aws:configurePackage (AWS-ConfigureAWSPackage) for the one package sharemount installs this way,
 * AmazonEFSUtils, as the plugin reports it (amazon-ssm-agent, configurepackage.Plugin.execute): the manifest
 * is fetched first (selectService's GetManifest call, denied when the instance role lacks ssm:GetManifest),
 * then the package is downloaded (birdwatcherservice.DownloadArtifact: "failed to download installation
 * package reliably" without a route to S3), then installed; checkAlreadyInstalled reports a package already
 * in place. Each failure is MarkAsFailed: status Failed, exit code 1. The install itself puts the stand-in
 * mount.efs on the instance, the same one a sandbox made with mount.efs has.
 */
import type { InstanceSandbox } from '../instanceSandbox';
import type { PluginResult } from './plugin';

/** How the instance reaches Distributor: its role and its network, as a test sets them. */
export type DistributorAccess = 'reachable' | 'access-denied' | 'unreachable';

export const EMULATED_PACKAGE = 'AmazonEFSUtils';
export const EMULATED_PACKAGE_VERSION = '2.3.1';

export interface PackageRun {
  instanceId: string;
  region: string;
  parameters: Record<string, string[] | undefined>;
  access: DistributorAccess;
}

const failed = (stdout: string, stderr: string): PluginResult => ({ status: 'Failed', code: 1, stdout, stderr });

export async function configurePackage(sandbox: InstanceSandbox, run: PackageRun): Promise<PluginResult> {
  const action = run.parameters.action?.[0];
  const name = run.parameters.name?.[0] ?? '';
  const version = run.parameters.version?.[0] || EMULATED_PACKAGE_VERSION;
  // parseAndValidateInput / prepareConfigurePackage.
  if (action !== 'Install') return failed('', `unsupported action: ${action ?? ''} (the emulator plays Install only)`);
  if (run.access === 'access-denied') {
    return failed(
      '',
      `Error returned for GetManifest - AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/instance-role/${run.instanceId} is not authorized to perform: ssm:GetManifest`,
    );
  }
  // An unknown package: GetManifest answers ResourceNotFoundException and the document archive has none either.
  if (name !== EMULATED_PACKAGE) return failed('', 'Failed to retrieve document description for package installation');
  if (run.access === 'unreachable') {
    return failed(
      `Initiating ${name} ${version} install`,
      `failed to download installation package reliably, https://s3.${run.region}.amazonaws.com/aws-ssm-distributor-file-${run.region}/${name}/${version}/linux_amd64.zip, dial tcp: i/o timeout`,
    );
  }
  const present = await sandbox.run('test -x /sbin/mount.efs');
  if (present.code === 0) return { status: 'Success', code: 0, stdout: `${name} ${version} is already installed`, stderr: '' };
  await sandbox.installMountEfs();
  return { status: 'Success', code: 0, stdout: `Initiating ${name} ${version} install\nSuccessfully installed ${name} ${version}`, stderr: '' };
}
