import { InputError } from '../errors';
import type { Ids, LxcVolume } from './volume';
import type { HostUser } from './hostUsers';

/** What the ownership walk applies to a volume, and why. */
export interface ResolvedOwner {
  mode: 'default' | 'user' | 'container_root' | 'container_ids';
  /** container_ids, and every mode under the idmap strategy: the ids inside the containers that own the files. */
  containerIds?: Ids;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** Said in the plan when the result is probably not what the operator wants. */
  note?: string;
}

/** nobody:nogroup, what Phoenix applied when a volume names no owner. */
export const NOBODY = 65534;
export const NOGROUP = 65534;

export const DEFAULT_OWNER_NOTE =
  'no owner given: nobody:nogroup (65534:65534), which unprivileged containers cannot map, so container root can read but not write; set "owner": "container_root" to make it writable';

/** The disk ids one container's owner (its root, or the named ids) writes as. */
export interface ContainerRoot {
  ctid: number;
  uid: number;
  gid: number;
}

/** The ids inside the containers that a volume's owner names, when it names any. */
export function ownerContainerIds(volume: Pick<LxcVolume, 'owner'>): Ids | undefined {
  if (volume.owner.kind === 'container_root') return { uid: 0, gid: 0 };
  if (volume.owner.kind === 'container_ids') return { uid: volume.owner.uid, gid: volume.owner.gid };
  return undefined;
}

/**
 * The one disk owner the idmap strategy maps every container to, chosen so that nothing moves when it need
 * not: the one the config names, else the tree's current owner (the walk then finds it right and stops after its
 * sample), else the first container's own mapping of the owner. Host root is refused: container root would
 * then write as host root through the mount.
 */
export function chooseDiskOwner(
  field: string,
  candidates: { configured?: Ids; tree?: Ids; firstContainer?: Ids & { ctid: number } },
): { uid: number; gid: number; why: string } {
  const tree = candidates.tree && candidates.tree.uid !== 0 && candidates.tree.gid !== 0 ? candidates.tree : undefined;
  const chosen = candidates.configured
    ? { ...candidates.configured, why: 'named by disk_owner' }
    : tree
      ? { ...tree, why: 'the tree already belongs to it' }
      : candidates.firstContainer && { ...candidates.firstContainer, why: `CT ${candidates.firstContainer.ctid}'s own mapping of the owner` };
  if (!chosen) throw new InputError(field, 'no container maps the owner, so there is no disk owner to map to');
  if (chosen.uid === 0 || chosen.gid === 0) {
    throw new InputError(
      field,
      `disk owner ${chosen.uid}:${chosen.gid} (${chosen.why}) is host root, which an unprivileged container must never write as: name another disk_owner`,
    );
  }
  return { uid: chosen.uid, gid: chosen.gid, why: chosen.why };
}

/**
 * The uid and gid a volume's files get. For container_root: every mounting container's root must map to
 * the same host uid and gid, else no single owner works and the volume is refused, naming each container;
 * the last container never silently wins.
 */
export function resolveOwner(volume: LxcVolume, facts: { hostUsers: Record<string, HostUser>; containerRoots: ContainerRoot[] }): ResolvedOwner {
  const field = `shared_volumes.${volume.name}.owner`;
  switch (volume.owner.kind) {
    case 'default':
      return { mode: 'default', uid: NOBODY, gid: NOGROUP, user: 'nobody', group: 'nogroup', note: DEFAULT_OWNER_NOTE };
    case 'user': {
      const user = facts.hostUsers[volume.owner.user];
      if (!user) {
        throw new InputError(field, `host user ${JSON.stringify(volume.owner.user)} does not exist on this host; create it or name another user`);
      }
      return { mode: 'user', uid: user.uid, gid: user.gid, user: user.name, group: user.group };
    }
    case 'container_root':
    case 'container_ids': {
      const roots = facts.containerRoots;
      const named = volume.owner.kind === 'container_root' ? 'root' : `${volume.owner.uid}:${volume.owner.gid}`;
      if (roots.length === 0) throw new InputError(field, `names ${named} inside the containers, but no container mounts the volume`);
      const distinct = new Set(roots.map((r) => `${r.uid}:${r.gid}`));
      if (distinct.size > 1) {
        const each = roots.map((r) => `CT ${r.ctid} ${named} is ${r.uid}:${r.gid}`).join(', ');
        throw new InputError(
          field,
          `names ${named} inside the containers, but they map it to different host ids (${each}); one chown cannot serve them: set "strategy": "idmap" (Proxmox VE 9.2's per-mount idmap=, pve-container >= 6.1.6, maps each to one disk owner), give them the same lxc.idmap for these ids, or split the volume`,
        );
      }
      const inside = volume.owner.kind === 'container_ids' ? { containerIds: ownerContainerIds(volume)! } : {};
      return { mode: volume.owner.kind, uid: roots[0].uid, gid: roots[0].gid, ...inside };
    }
  }
}
