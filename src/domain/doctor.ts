/** Turns what a host offers into checks an operator can act on: ok or missing, and the fix. */
import { describeWalkEngine, type WalkEngineChoice } from './walkEngine';
import { filesystemIdmapSupport, IDMAP_MIN_PVE_CONTAINER, versionAtLeast } from './lxc/strategy';

export type Backend = 'lxc' | 'efs';
export const BACKENDS: readonly Backend[] = ['lxc', 'efs'];

export interface HostFacts {
  hostname: string;
  kernelRelease: string;
  /** Paths of the tools found on the worker's PATH; absent when missing. */
  tools: { pct?: string; newuidmap?: string; newgidmap?: string; mountEfs?: string };
  aws: { region?: string; credentialsSource?: string; problem?: string };
  /** The ownership walk the LXC worker will run here. */
  walk: WalkEngineChoice;
  /** The node's pve-container (dpkg-query -W, or --pve-container-version), or why it is unknown. */
  pveContainer?: { version?: string; problem?: string };
  /** The configured volumes' host paths (doctor --config), each with its statfs type. */
  volumePaths?: VolumePathFacts[];
}

export interface VolumePathFacts {
  path: string;
  fsType?: number;
  problem?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails. */
  fix?: string;
  /** Backends that cannot run without it; empty for checks that only inform. */
  requiredFor: Backend[];
}

export interface DoctorReport {
  hostname: string;
  backends: Backend[];
  checks: Check[];
  ok: boolean;
}

/** Kernel idmapped mounts (mount_setattr with MOUNT_ATTR_IDMAP) arrived in Linux 5.12. */
export function supportsIdmappedMounts(kernelRelease: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 5 || (major === 5 && minor >= 12);
}

export function evaluateHost(facts: HostFacts): Check[] {
  const tool = (name: string, path: string | undefined, fix: string, requiredFor: Backend[]): Check => ({
    name,
    ok: path !== undefined,
    detail: path ?? 'not found on PATH',
    fix: path === undefined ? fix : undefined,
    requiredFor,
  });
  const idmapped = supportsIdmappedMounts(facts.kernelRelease);
  return [
    { name: 'kernel', ok: true, detail: facts.kernelRelease, requiredFor: [] },
    {
      name: 'idmapped mounts',
      ok: idmapped,
      detail: idmapped ? 'supported (Linux 5.12 or later)' : 'not supported: ownership is applied by walking the volume',
      fix: idmapped ? undefined : 'upgrade to Linux 5.12 or later to mount without changing ownership',
      requiredFor: [],
    },
    {
      // informs only: the Node walk keeps the same rules, slower (BENCHMARKS.md)
      name: 'walk engine',
      ok: facts.walk.engine === 'native',
      detail: describeWalkEngine(facts.walk),
      fix:
        facts.walk.engine === 'native'
          ? undefined
          : 'install the release tarball (prebuilt helpers for x64 and arm64), or build one from source: npm run build:walk-here (needs gcc)',
      requiredFor: [],
    },
    tool('pct', facts.tools.pct, 'run the LXC worker on a Proxmox VE node (pct comes with pve-container), or pass --pct', ['lxc']),
    tool('newuidmap', facts.tools.newuidmap, 'apt-get install uidmap (needed by the demo and the tests, not by Proxmox)', []),
    tool('newgidmap', facts.tools.newgidmap, 'apt-get install uidmap (needed by the demo and the tests, not by Proxmox)', []),
    tool('mount.efs', facts.tools.mountEfs, 'not needed on the worker: the mount step installs amazon-efs-utils on each instance', []),
    {
      name: 'AWS region',
      ok: facts.aws.region !== undefined,
      detail: facts.aws.region ?? 'not configured',
      fix: facts.aws.region ? undefined : 'set AWS_REGION or a region in ~/.aws/config',
      requiredFor: ['efs'],
    },
    {
      name: 'AWS credentials',
      ok: facts.aws.credentialsSource !== undefined,
      detail: facts.aws.credentialsSource ?? facts.aws.problem ?? 'not found',
      fix: facts.aws.credentialsSource ? undefined : 'configure credentials through the standard AWS chain (env, ~/.aws, instance role)',
      requiredFor: ['efs'],
    },
  ];
}

/** What the idmap strategy needs from this node: pve-container with per-mount idmap, and filesystems that take it. */
function idmapStrategyChecks(facts: HostFacts, kernelOk: boolean): Check[] {
  const version = facts.pveContainer?.version;
  const checks: Check[] = [];
  if (facts.pveContainer) {
    const ok = version !== undefined && versionAtLeast(version, IDMAP_MIN_PVE_CONTAINER);
    checks.push({
      name: 'pve-container',
      ok,
      detail:
        version === undefined
          ? `unknown: ${facts.pveContainer.problem}`
          : `${version}${ok ? ' (per-mount idmap)' : ` (no per-mount idmap before ${IDMAP_MIN_PVE_CONTAINER})`}`,
      fix: ok
        ? undefined
        : `upgrade to pve-container ${IDMAP_MIN_PVE_CONTAINER} or later (Proxmox VE 9.2) for the idmap strategy; until then volumes use chown`,
      requiredFor: [],
    });
  }
  for (const volume of facts.volumePaths ?? []) {
    const fs = volume.fsType === undefined ? undefined : filesystemIdmapSupport(volume.fsType);
    const ok = kernelOk && fs?.idmap === true;
    checks.push({
      name: `idmapped mounts at ${volume.path}`,
      ok,
      detail: fs
        ? `${fs.name}: ${fs.idmap ? (kernelOk ? 'supported' : 'the filesystem would, the kernel does not') : 'does not take idmapped mounts'}`
        : `cannot tell: ${volume.problem}`,
      fix: ok ? undefined : fs ? 'this volume uses chown (or move it to ext4, xfs, btrfs, zfs)' : 'create the directory, then run doctor again',
      requiredFor: [],
    });
  }
  return checks;
}

export function buildReport(facts: HostFacts, backends: Backend[]): DoctorReport {
  const checks = [...evaluateHost(facts), ...idmapStrategyChecks(facts, supportsIdmappedMounts(facts.kernelRelease))];
  const ok = checks.every((check) => check.ok || !check.requiredFor.some((b) => backends.includes(b)));
  return { hostname: facts.hostname, backends, checks, ok };
}
