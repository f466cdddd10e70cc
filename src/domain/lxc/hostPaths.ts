import { InputError } from '../errors';

/**
 * Rules about where a volume's host path lies. Container root can write anywhere inside a volume it mounts, so
 * a host path below another volume's can be redirected by that volume's containers (rename a directory above
 * it, put a symlink in its place); and two walks over the same files would fight over their owner.
 */

/** What the host showed about a host path, looked at component by component without following symlinks. */
export interface HostPathFacts {
  path: string;
  exists: boolean;
  isDirectory: boolean;
  /** The first component (from `/`) that is a symlink. */
  symlinkComponent?: string;
  /** Where the path leads when symlinks are followed, when it leads anywhere. */
  canonicalPath?: string;
  /** The directory's identity, which the walk checks again when it opens the root. */
  dev?: number;
  ino?: number;
  /** The directory's owner: the idmap strategy keeps it as the disk owner when it can. */
  uid?: number;
  gid?: number;
  /** statfs f_type of the filesystem it is on (idmapped mounts need one that allows them). */
  fsType?: number;
}

/** `inner` lies strictly below `outer`, or is the same directory. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/** One error per volume whose host path is another volume's or lies inside it, naming both. */
export function nestedHostPathErrors(volumes: ReadonlyArray<{ name: string; hostPath: string }>): InputError[] {
  const errors: InputError[] = [];
  for (const inner of volumes) {
    const outer = volumes.find(
      (other) => other !== inner && isWithin(inner.hostPath, other.hostPath) && (other.hostPath !== inner.hostPath || other.name < inner.name),
    );
    if (!outer) continue;
    const relation = outer.hostPath === inner.hostPath ? 'is also the host path of' : 'lies inside the host path of';
    errors.push(
      new InputError(
        `shared_volumes.${inner.name}.host_path`,
        `${inner.hostPath} ${relation} volume ${outer.name} (${outer.hostPath}): containers that mount ${outer.name} could redirect it, and the two volumes' ownership walks would fight over the same files; give ${inner.name} a host path outside ${outer.name}'s`,
      ),
    );
  }
  return errors;
}

/** Why the host showed a path that sharemount must not use, or undefined when it is fine. */
export function hostPathFactsProblem(facts: HostPathFacts): string | undefined {
  if (facts.symlinkComponent) {
    const canonical = facts.canonicalPath ? `; its canonical path is ${facts.canonicalPath}: write that instead` : '';
    return `${facts.symlinkComponent} is a symlink, and sharemount follows no symlink in a host path (what it points at can be changed after the plan)${canonical}`;
  }
  if (!facts.exists) return `${facts.path} does not exist; create it (or mount its storage) first`;
  if (!facts.isDirectory) return `${facts.path} is not a directory`;
  return undefined;
}

/** A host directory that a container on this node binds (an `mpN` whose volume is an absolute path). */
export interface HostBind {
  ctid: number;
  slot: string;
  hostPath: string;
  containerPath: string;
}

/** Warns about container bind mounts (by other means than this volume) of a directory that holds the host path. */
export function foreignBindWarnings(hostPath: string, binds: HostBind[]): string[] {
  return binds
    .filter((bind) => bind.hostPath !== hostPath && isWithin(hostPath, bind.hostPath))
    .map(
      (bind) =>
        `CT ${bind.ctid} binds ${bind.hostPath} (${bind.slot}), which holds this host path: root in CT ${bind.ctid} can rename directories above it; the walk refuses to follow what it puts there, but consider a host path outside ${bind.hostPath}`,
    );
}

/** Every host bind mount of a parsed container config, pending ones included. */
export function hostBindsOf(ctid: number, mountPoints: ReadonlyArray<{ slot: number; volume: string; containerPath: string }>): HostBind[] {
  return mountPoints.filter((m) => m.volume.startsWith('/')).map((m) => ({ ctid, slot: `mp${m.slot}`, hostPath: m.volume, containerPath: m.containerPath }));
}
