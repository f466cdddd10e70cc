import { InputError } from '../errors';
import type { LxcVolume } from './volume';
import type { HostUser } from './hostUsers';

/** What the ownership walk applies to a volume, and why. */
export interface ResolvedOwner {
  mode: 'default' | 'user' | 'container_root';
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

export interface ContainerRoot {
  ctid: number;
  uid: number;
  gid: number;
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
    case 'container_root': {
      const roots = facts.containerRoots;
      if (roots.length === 0) throw new InputError(field, 'is container_root but no container mounts the volume');
      const distinct = new Set(roots.map((r) => `${r.uid}:${r.gid}`));
      if (distinct.size > 1) {
        const each = roots.map((r) => `CT ${r.ctid} root is ${r.uid}:${r.gid}`).join(', ');
        throw new InputError(
          field,
          `is container_root, but the containers map root to different host ids (${each}); one owner cannot serve them: give them the same lxc.idmap for root, or split the volume`,
        );
      }
      return { mode: 'container_root', uid: roots[0].uid, gid: roots[0].gid };
    }
  }
}
