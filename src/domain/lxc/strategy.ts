/**
 * Which way a volume is made writable. chown walks the tree and gives every entry the owner; idmap writes
 * per-mount `idmap=` entries (pve-container 6.1.6, Proxmox VE 9.2) that map the owner's ids in each container
 * to one disk owner, built on kernel idmapped mounts, so nothing is chowned and the cost does not grow with the
 * tree. auto takes idmap wherever everything it needs is there, and says what was missing otherwise.
 */
import type { OwnerSpec, StrategySetting } from './volume';

export type StrategyName = 'chown' | 'idmap';

/** The first pve-container release with the per-mount idmap option (its changelog: "implement per-mountpoint uid/gid mapping"). */
export const IDMAP_MIN_PVE_CONTAINER = '6.1.6';

/**
 * statfs f_type magic numbers (linux/magic.h). The kernel allows idmapped mounts only on filesystems that set
 * FS_ALLOW_IDMAP; NFS, CIFS/SMB, FUSE and overlay do not here, and mount_setattr fails with EINVAL.
 */
const FILESYSTEMS: Record<number, { name: string; idmap: boolean }> = {
  0xef53: { name: 'ext4', idmap: true },
  0x58465342: { name: 'xfs', idmap: true },
  0x9123683e: { name: 'btrfs', idmap: true },
  0x2fc12fc1: { name: 'zfs', idmap: true },
  0x01021994: { name: 'tmpfs', idmap: true },
  0x6969: { name: 'nfs', idmap: false },
  0xff534d42: { name: 'cifs', idmap: false },
  0xfe534d42: { name: 'smb2', idmap: false },
  0x65735546: { name: 'fuse', idmap: false },
  0x794c7630: { name: 'overlay', idmap: false },
};

/** Whether a filesystem (by statfs type) takes idmapped mounts; an unknown type is not assumed to. */
export function filesystemIdmapSupport(fsType: number): { name: string; idmap: boolean } {
  return FILESYSTEMS[fsType] ?? { name: `unknown filesystem (statfs type 0x${fsType.toString(16)})`, idmap: false };
}

/** A Debian package version as dpkg prints one (epoch, upstream, revision), nothing a shell could read otherwise. */
const PACKAGE_VERSION = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~]*(?:-[A-Za-z0-9.+~]+)?$/;
export const PACKAGE_VERSION_RULE = 'must be a Debian package version such as 6.1.6 or 6.1.6-1 (as dpkg-query -W pve-container prints it)';

export function packageVersionProblem(value: string): string | undefined {
  return PACKAGE_VERSION.test(value) ? undefined : `${JSON.stringify(value)} ${PACKAGE_VERSION_RULE}`;
}

/** Debian version order for the plain numeric releases Proxmox ships (6.1.6, 6.1.6-1, 6.2.0~bpo): by each number. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) => (v.replace(/^\d+:/, '').match(/\d+/g) ?? []).map(Number);
  const [a, b] = [parts(version), parts(minimum)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

export interface StrategyFacts {
  owner: OwnerSpec;
  /** The lowest pve-container version among the nodes whose containers mount the volume; absent: unknown. */
  pveContainerVersion?: string;
  /** Why the version is unknown. */
  versionProblem?: string;
  /** statfs type of the host path; absent: not looked at (pure plans). */
  fsType?: number;
  /** Containers that are privileged (Proxmox ignores a mount's idmap for them). */
  privileged: number[];
}

export interface StrategyChoice {
  strategy: StrategyName;
  requested: StrategySetting;
  /** Why this strategy: what made auto choose, or that the config or --strategy named it. */
  reason: string;
  /** For a requested idmap: what stands in its way (each a plan error). */
  blockers: string[];
}

/** What idmap needs that is missing, each said with what would fix it. */
function idmapBlockers(facts: StrategyFacts): string[] {
  const blockers: string[] = [];
  if (facts.owner.kind !== 'container_root' && facts.owner.kind !== 'container_ids') {
    blockers.push(
      `the owner is ${facts.owner.kind === 'user' ? 'a host user' : 'the default nobody:nogroup'}, not ids inside the containers, so there is nothing to map`,
    );
  }
  if (facts.pveContainerVersion === undefined) {
    blockers.push(`the pve-container version is unknown (${facts.versionProblem ?? 'not read'}); name it with --pve-container-version`);
  } else if (!versionAtLeast(facts.pveContainerVersion, IDMAP_MIN_PVE_CONTAINER)) {
    blockers.push(`pve-container ${facts.pveContainerVersion} has no per-mount idmap (needs ${IDMAP_MIN_PVE_CONTAINER}, Proxmox VE 9.2)`);
  }
  if (facts.fsType !== undefined) {
    const fs = filesystemIdmapSupport(facts.fsType);
    if (!fs.idmap) blockers.push(`the host path is on ${fs.name}, which does not take idmapped mounts`);
  }
  if (facts.privileged.length)
    blockers.push(`CT ${facts.privileged.join(', ')} ${facts.privileged.length > 1 ? 'are' : 'is'} privileged, and Proxmox ignores idmap= there`);
  return blockers;
}

export function chooseStrategy(requested: StrategySetting, facts: StrategyFacts): StrategyChoice {
  const blockers = idmapBlockers(facts);
  if (requested === 'chown') return { strategy: 'chown', requested, reason: 'chown was asked for', blockers: [] };
  if (requested === 'idmap') return { strategy: 'idmap', requested, reason: 'idmap was asked for', blockers };
  if (blockers.length) return { strategy: 'chown', requested, reason: `auto: chown, because ${blockers.join('; ')}`, blockers: [] };
  return {
    strategy: 'idmap',
    requested,
    reason: `auto: idmap (pve-container ${facts.pveContainerVersion}, a filesystem that takes idmapped mounts, unprivileged containers)`,
    blockers: [],
  };
}
