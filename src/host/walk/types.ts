/**
 * The contract of the ownership walk, kept by both engines (nodeEngine.ts, and native/sharemount-walk.c driven
 * by nativeEngine.ts). The volume is writable by container root, so everything in it may be hostile:
 *
 * - The root is opened from `/` with no symlink in any component (openat2 RESOLVE_NO_SYMLINKS |
 *   RESOLVE_NO_MAGICLINKS where the kernel has it, else one O_NOFOLLOW component at a time), and must be the
 *   directory the plan saw (`expectedRoot`: device and inode). Otherwise the walk fails with a WalkRootError.
 * - Every directory is held open and children are reached only relative to it; a child is changed only through
 *   its own descriptor after device, inode, link count and mount id were checked on that descriptor.
 * - Symlinks are never followed nor changed. Any non-directory with more than one link is refused, whatever its
 *   type; devices and sockets are refused. Every entry's mount id is compared with the root's (files included):
 *   another mount, bind mounts of the same file system too, is never entered nor changed.
 * - An entry that cannot be changed (EPERM on an immutable file, EACCES, EAGAIN, EROFS, …) is refused with its
 *   reason; the walk goes on. Only a failure at the root fails the walk.
 * - Post-order, names in bytewise order per directory, the root last — and the root is changed only when
 *   everything beneath it converged (no refusal in the whole walk), so a later run's root check never skips
 *   over refused or unfinished entries.
 * - Memory is bounded: a directory is read in sorted windows of at most `windowSize` names (the next window is
 *   the smallest names after the last one handled), never whole.
 */

export interface Owner {
  uid: number;
  gid: number;
}

export interface WalkCounts {
  /**
   * Entries looked at, the root included: each once, also across a resume, except an entry behind a resume's
   * cursor that had to be changed again (it counts, and is changed, twice).
   */
  entries: number;
  changed: number;
  alreadyRight: number;
  /** Entries left unchanged because changing them is unsafe or failed; see `refused`. */
  refusedCount: number;
  skippedSymlinks: number;
  /** Mount points inside the volume (directories or files) that were not entered nor changed. */
  skippedMounts: number;
}

export interface RefusedEntry {
  /** Host path, UTF-8 (invalid bytes replaced), at most MAX_REFUSED_PATH_BYTES (then cut in the middle, "…"). */
  path: string;
  reason: string;
}

export interface WalkProgress {
  /** `sample` while the root check descends; `walk` once entries are being changed. */
  phase: 'sample' | 'walk';
  /** Names (latin1-encoded bytes) from the root to the last finished entry, in walk order; [] in `sample`. */
  cursor: string[];
  counts: WalkCounts;
  /** The refusals so far (bounded like the result's), so a retry that resumes still reports them. */
  refused: RefusedEntry[];
}

export interface WalkResult extends WalkCounts {
  /** At most `refusedLimit` entries; `refusedCount` is exact. */
  refused: RefusedEntry[];
  /** True when the root and a random sample of entries were already right, so nothing else was looked at. */
  skippedByRootCheck: boolean;
  /** True when the root was left with its old owner because something beneath it did not converge. */
  rootLeft: boolean;
}

export interface RootIdentity {
  dev: number;
  ino: number;
}

export interface WalkOptions {
  /** Called at every report with a resumable cursor; awaited before the walk goes on. May throw to stop it. */
  onProgress?: (progress: WalkProgress) => void | Promise<void>;
  /** Report every this many entries (default 1000). */
  progressEvery?: number;
  /** Report also when this many ms have passed since the last report (default 2000; 0 = by count only). */
  progressIntervalMs?: number;
  /** A report from an earlier, interrupted walk: finished entries are not changed again (see resume rules). */
  resumeFrom?: WalkProgress;
  /** Walk everything even when the root check says the volume is done. */
  fullScan?: boolean;
  /** Random descents checked before trusting the root check (default 32; 0 trusts the root alone). */
  sampleSize?: number;
  /** Refused entries kept in the result (default 100); the count stays exact. */
  refusedLimit?: number;
  /** Directory depth the walk refuses to go beyond (default 512; each level holds a descriptor). */
  maxDepth?: number;
  /** Names of one directory held in memory at once (default 65536). */
  windowSize?: number;
  /** The root must be this directory (what the plan saw); else the walk fails with WalkRootError 'RootChanged'. */
  expectedRoot?: RootIdentity;
  /** `native` (the C helper), `node`, or `auto` (default: native when a helper passes its checksum, see helper.ts; $SHAREMOUNT_WALK_ENGINE overrides). */
  engine?: 'auto' | 'native' | 'node';
  /** Stops the walk (rejects with the signal's reason) at the next report. */
  signal?: AbortSignal;
}

export const WALK_DEFAULTS = {
  progressEvery: 1000,
  progressIntervalMs: 2000,
  sampleSize: 32,
  refusedLimit: 100,
  maxDepth: 512,
  windowSize: 65536,
} as const;

/** A refused path is cut to this many bytes, so a result stays far below Temporal's 4 MB payload limit. */
export const MAX_REFUSED_PATH_BYTES = 1024;

/**
 * Why an entry was refused: one code per reason, shared by both engines (the native helper sends the code,
 * a number and, for `errno`, the error's name).
 */
export const REFUSAL_REASONS = {
  hardLinks: (n: number) => `${n} hard links: another link may be a host file outside the volume`,
  device: () => 'device node: changing its owner could hand a device to the container',
  socket: () => 'socket: cannot be opened to change it safely',
  tooDeep: (n: number) => `deeper than ${n} levels; not entered`,
  replaced: () => 'replaced by something else while the walk ran; not entered nor changed',
  unknownMount: () => 'cannot tell which mount it is on; not entered nor changed',
  errno: (_: number, code = 'EIO') => `cannot change it (${code}); left as it is`,
} as const satisfies Record<string, (n: number, code?: string) => string>;

export type RefusalCode = keyof typeof REFUSAL_REASONS;

/** Why the walk could not start at the root. Permanent: a retry would see the same. */
export class WalkRootError extends Error {
  constructor(
    readonly code: 'SymlinkInPath' | 'NotADirectory' | 'NotFound' | 'RootChanged' | 'NotCanonical',
    message: string,
  ) {
    super(message);
    this.name = 'WalkRootError';
  }
}

/** Cuts a path to MAX_REFUSED_PATH_BYTES, keeping its start and its end. */
export function boundedPath(bytes: Buffer): string {
  if (bytes.length <= MAX_REFUSED_PATH_BYTES) return bytes.toString('utf8');
  const half = (MAX_REFUSED_PATH_BYTES - 3) >> 1;
  return `${bytes.subarray(0, half).toString('utf8')}…${bytes.subarray(bytes.length - half).toString('utf8')}`;
}

/** The refusal list as both engines keep it: the first `limit` refusals, each path bounded. */
export function addRefusal(list: RefusedEntry[], limit: number, pathBytes: Buffer, reason: string): void {
  if (list.length < limit) list.push({ path: boundedPath(pathBytes), reason });
}
