import * as fs from 'node:fs';
import { chooseEngine, nativeWalkSteps } from './nativeEngine';

/**
 * The host-side ownership walk over a shared volume. Container root can write into the volume, so everything
 * in it may be hostile: symlinks to host files, hard links to host files, directories swapped for symlinks
 * while we walk. The rules:
 *
 * - Every directory is held open (O_DIRECTORY|O_NOFOLLOW) and its children are reached through
 *   `/proc/self/fd/<dirfd>/<name>`, which the kernel resolves from the open directory, not from a path that
 *   could have been swapped since (Node has no openat/fchownat).
 * - A child is changed only through its own descriptor, opened with O_NOFOLLOW, after checking that device
 *   and inode are the ones the listing's lstat saw; so a swap between look and change is refused, not followed.
 * - Symlinks are left alone, never lchown'ed and never followed: their owner grants nothing, and leaving them
 *   means no call ever takes a path that could be swapped into something else.
 * - Never crosses into another mount: a different st_dev, a mount point listed in mountinfo under the root,
 *   or (for directories) a different mnt_id in /proc/self/fdinfo, which also catches bind mounts of the
 *   same file system.
 * - Regular files with more than one hard link, device nodes and sockets are refused and reported.
 * - Post-order: children before their directory, the volume root last, so a walk that stops leaves the root
 *   wrong and the next run's root check does not skip.
 * - Names are read as bytes (latin1 strings, lossless) and sorted per directory: the order is deterministic,
 *   and a cursor (the names from the root to the last finished entry) lets a retried walk resume.
 * - Memory is one sorted listing per open directory level: O(depth x width), never O(files).
 *
 * Two engines keep these rules: the native helper (nativeWalk.ts, native/sharemount-walk.c: openat, fstatat,
 * fchownat(AT_EMPTY_PATH) on an O_PATH descriptor, a fraction of the system calls) when it is built, else
 * this file's Node walk. Same order, counts, cursor and reports; a cursor from one resumes in the other.
 */

export interface Owner {
  uid: number;
  gid: number;
}

export interface WalkCounts {
  /** Entries looked at, the root included. */
  entries: number;
  changed: number;
  alreadyRight: number;
  /** Entries left unchanged because changing them is unsafe (hard links, devices, swaps); see `refused`. */
  refusedCount: number;
  skippedSymlinks: number;
  /** Mount points inside the volume that were not entered. */
  skippedMounts: number;
}

export interface WalkProgress {
  /** Names (latin1-encoded bytes) from the root to the last finished entry, in walk order. */
  cursor: string[];
  counts: WalkCounts;
}

export interface RefusedEntry {
  path: string;
  reason: string;
}

export interface WalkResult extends WalkCounts {
  /** The first `refusedLimit` refused entries; `refusedCount` says how many there were. */
  refused: RefusedEntry[];
  /** True when the root and a random sample of entries were already right, so nothing else was looked at. */
  skippedByRootCheck: boolean;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 2000;

export interface WalkOptions {
  /** Called every `progressEvery` entries with a resumable cursor. May throw to stop the walk. */
  onProgress?: (progress: WalkProgress) => void;
  progressEvery?: number;
  /**
   * Also report when this many ms have passed since the last report (default 2000; 0 = by count only). The
   * walk runs synchronously between reports, so reports are its only heartbeats: a store too slow for a
   * thousand entries per heartbeat timeout must not look like a dead worker.
   */
  progressIntervalMs?: number;
  /** A progress report from an earlier, interrupted walk: finished entries are not visited again. */
  resumeFrom?: WalkProgress;
  /** Walk everything even when the root check says the volume is done. */
  fullScan?: boolean;
  /** Random root-to-leaf descents checked before trusting the root check (default 32; 0 trusts the root). */
  sampleSize?: number;
  refusedLimit?: number;
  /** Directory depth at which the walk refuses to go deeper (each level holds a descriptor). */
  maxDepth?: number;
  mountInfoFile?: string;
  /** `native` (the C helper), `node`, or `auto` (default: native when built; $SHAREMOUNT_WALK_ENGINE overrides). */
  engine?: 'auto' | 'native' | 'node';
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;
/** Opening for fchown must not touch access times of millions of files; root may use O_NOATIME anywhere. */
const O_NOATIME = fs.constants.O_NOATIME ?? 0;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

interface Frame {
  fd: number;
  /** Sorted child names (latin1). */
  names: string[];
  next: number;
  /** Logical absolute path (latin1), for reports and mountinfo matching. */
  path: string;
  /** Name in the parent ('' for the root). */
  name: string;
  uid: number;
  gid: number;
}

/** Walks `root` and gives everything in it (the root last) the owner `owner`. Synchronous. */
export function walkOwnership(root: string, owner: Owner, options: WalkOptions = {}): WalkResult {
  const chosen = chooseEngine(options);
  if (chosen.engine === 'native') {
    const steps = nativeWalkSteps(chosen.helper, root, owner, options);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
    }
  }
  const walk = new OwnershipWalk(root, owner, options);
  try {
    while (!walk.step(Number.MAX_SAFE_INTEGER));
    return walk.result();
  } finally {
    walk.close();
  }
}

/**
 * The same walk in chunks, yielding to the event loop between them so a worker stays responsive (heartbeats,
 * cancellation, other tasks) while it walks millions of files.
 */
export async function walkOwnershipAsync(
  root: string,
  owner: Owner,
  options: WalkOptions & { chunk?: number; signal?: AbortSignal } = {},
): Promise<WalkResult> {
  const { signal, onProgress } = options;
  const stopIfCancelled = () => {
    if (signal?.aborted) throw signal.reason ?? new Error('ownership walk cancelled');
  };
  // Cancellation reaches an activity with a heartbeat's answer, so look right after each report too.
  const withCancellation: WalkOptions = { ...options, onProgress: onProgress && ((progress) => (onProgress(progress), stopIfCancelled())) };
  const chosen = chooseEngine(options);
  if (chosen.engine === 'native') {
    // The helper pauses after each progress report: yield to the event loop there (heartbeats, cancellation).
    // Progress is asked for even without a listener, so the walk pauses (and yields) every progressEvery entries.
    const steps = nativeWalkSteps(chosen.helper, root, owner, { ...withCancellation, onProgress: withCancellation.onProgress ?? stopIfCancelled });
    try {
      for (;;) {
        const next = steps.next();
        if (next.done) return next.value;
        await new Promise((resolve) => setImmediate(resolve));
        stopIfCancelled();
      }
    } finally {
      steps.return(undefined as never);
    }
  }
  const walk = new OwnershipWalk(root, owner, withCancellation);
  try {
    while (!walk.step(options.chunk ?? 2000)) {
      await new Promise((resolve) => setImmediate(resolve));
      stopIfCancelled();
    }
    return walk.result();
  } finally {
    walk.close();
  }
}

export class OwnershipWalk {
  private readonly stack: Frame[] = [];
  private readonly counts: WalkCounts;
  private readonly refused: RefusedEntry[] = [];
  private readonly rootDev: number;
  private readonly rootMountId: string | undefined;
  private readonly mountPoints: Set<string>;
  private readonly progressEvery: number;
  private lastProgressAt: number;
  private readonly refusedLimit: number;
  private readonly maxDepth: number;
  private skippedByRootCheck = false;
  private sinceProgress = 0;
  private done = false;

  constructor(
    root: string,
    private readonly owner: Owner,
    private readonly options: WalkOptions = {},
  ) {
    for (const id of [owner.uid, owner.gid]) {
      if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32 - 1) throw new Error(`refusing to chown to invalid id ${id}`);
    }
    this.progressEvery = options.progressEvery ?? 1000;
    this.lastProgressAt = Date.now();
    this.refusedLimit = options.refusedLimit ?? 100;
    this.maxDepth = options.maxDepth ?? 512;
    this.counts = options.resumeFrom
      ? { ...options.resumeFrom.counts }
      : { entries: 0, changed: 0, alreadyRight: 0, refusedCount: 0, skippedSymlinks: 0, skippedMounts: 0 };
    // The root itself must not be a symlink either: O_NOFOLLOW makes that ELOOP.
    const rootPath = fs.realpathSync(root, { encoding: 'buffer' }).toString('latin1');
    const fd = fs.openSync(root, DIR_FLAGS);
    const stat = fs.fstatSync(fd);
    this.rootDev = stat.dev;
    this.rootMountId = mountIdOf(fd);
    this.mountPoints = mountPointsUnder(rootPath, options.mountInfoFile ?? '/proc/self/mountinfo');
    const frame: Frame = { fd, names: [], next: 0, path: rootPath, name: '', uid: stat.uid, gid: stat.gid };
    this.stack.push(frame);
    if (!options.resumeFrom) this.counts.entries++;
    frame.names = listNames(fd);
    if (!options.fullScan && !options.resumeFrom && this.isRight(stat.uid, stat.gid) && this.sampleLooksRight(fd, frame.names)) {
      this.skippedByRootCheck = true;
      this.counts.alreadyRight++;
      this.close();
      this.done = true;
      return;
    }
    const cursor = options.resumeFrom?.cursor ?? [];
    if (cursor.length) this.resume(frame, cursor);
  }

  /** Does up to `budget` entries of work; true when the walk is finished. */
  step(budget: number): boolean {
    while (!this.done && budget-- > 0) {
      const top = this.stack[this.stack.length - 1];
      if (top.next < top.names.length) this.visit(top, top.names[top.next++]);
      else this.finishDirectory();
    }
    return this.done;
  }

  result(): WalkResult {
    return { ...this.counts, refused: [...this.refused], skippedByRootCheck: this.skippedByRootCheck };
  }

  /** Closes every descriptor still held (after an error or a stop). */
  close(): void {
    while (this.stack.length) fs.closeSync(this.stack.pop()!.fd);
  }

  private isRight(uid: number, gid: number): boolean {
    return uid === this.owner.uid && gid === this.owner.gid;
  }

  /** Re-enters the directories named by `cursor`; everything sorted before it is finished. */
  private resume(frame: Frame, cursor: string[]): void {
    let current = frame;
    for (let depth = 0; depth < cursor.length; depth++) {
      const name = cursor[depth];
      let index = lowerBound(current.names, name);
      const found = current.names[index] === name;
      const last = depth === cursor.length - 1;
      if (found && last) index++;
      current.next = index;
      if (!found || last) return;
      // A directory that was in progress: enter it again (same checks as a normal visit), then continue inside.
      current.next = index + 1;
      const depthBefore = this.stack.length;
      this.visit(current, name, true);
      if (this.stack.length === depthBefore) return; // no longer a directory we may enter: treated as a visit
      current = this.stack[this.stack.length - 1];
    }
  }

  private visit(parent: Frame, name: string, resuming = false): void {
    const childPath = procPath(parent.fd, name);
    const st = fs.lstatSync(childPath, { throwIfNoEntry: false });
    if (!st) return; // removed since the listing: nothing to do
    if (!resuming) this.counts.entries++;
    if (st.isSymbolicLink()) {
      this.counts.skippedSymlinks++;
    } else if (st.dev !== this.rootDev || (this.mountPoints.size > 0 && this.mountPoints.has(`${parent.path}/${name}`))) {
      this.counts.skippedMounts++;
    } else if (st.isDirectory()) {
      if (this.enterDirectory(parent, name, childPath, st)) return;
    } else if (this.isRight(st.uid, st.gid)) {
      this.counts.alreadyRight++;
    } else if (st.isFile() && st.nlink > 1) {
      this.refuse(parent, name, `regular file with ${st.nlink} hard links: another link may be a host file outside the volume`);
    } else if (st.isBlockDevice() || st.isCharacterDevice()) {
      this.refuse(parent, name, 'device node: changing its owner could hand a device to the container');
    } else if (st.isSocket()) {
      this.refuse(parent, name, 'socket: cannot be opened to change it safely');
    } else {
      this.changeFile(parent, name, childPath, st);
    }
    this.finished(name);
  }

  /** Opens and pushes a directory; false when it was refused or skipped instead. */
  private enterDirectory(parent: Frame, name: string, childPath: Buffer, st: fs.Stats): boolean {
    if (this.stack.length >= this.maxDepth) {
      this.refuse(parent, name, `deeper than ${this.maxDepth} levels; not entered`);
      return false;
    }
    let fd: number;
    try {
      fd = fs.openSync(childPath, DIR_FLAGS | O_NOATIME);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return false;
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        this.refuse(parent, name, 'replaced by something else while the walk ran; not entered');
        return false;
      }
      throw error;
    }
    const opened = fs.fstatSync(fd);
    if (opened.dev !== st.dev || opened.ino !== st.ino) {
      fs.closeSync(fd);
      this.refuse(parent, name, 'replaced by another directory while the walk ran; not entered');
      return false;
    }
    if (mountIdOf(fd) !== this.rootMountId) {
      fs.closeSync(fd);
      this.counts.skippedMounts++;
      return false;
    }
    this.stack.push({ fd, names: listNames(fd), next: 0, path: `${parent.path}/${name}`, name, uid: opened.uid, gid: opened.gid });
    return true;
  }

  private changeFile(parent: Frame, name: string, childPath: Buffer, st: fs.Stats): void {
    let fd: number;
    try {
      fd = openNoFollow(childPath, FILE_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'ELOOP' || code === 'ENXIO') return this.refuse(parent, name, 'replaced by a symlink or socket while the walk ran');
      throw error;
    }
    try {
      const opened = fs.fstatSync(fd);
      if (opened.dev !== st.dev || opened.ino !== st.ino) return this.refuse(parent, name, 'replaced while the walk ran');
      if (opened.isFile() && opened.nlink > 1) return this.refuse(parent, name, `regular file with ${opened.nlink} hard links`);
      if (!opened.isFile() && !opened.isFIFO()) return this.refuse(parent, name, 'changed type while the walk ran');
      fs.fchownSync(fd, this.owner.uid, this.owner.gid);
      this.counts.changed++;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** After all children: the directory itself, through the descriptor that was listed. */
  private finishDirectory(): void {
    const frame = this.stack.pop()!;
    try {
      if (this.isRight(frame.uid, frame.gid)) this.counts.alreadyRight++;
      else {
        fs.fchownSync(frame.fd, this.owner.uid, this.owner.gid);
        this.counts.changed++;
      }
    } finally {
      fs.closeSync(frame.fd);
    }
    if (this.stack.length === 0) this.done = true;
    else this.finished(frame.name);
  }

  private refuse(parent: Frame, name: string, reason: string): void {
    this.counts.refusedCount++;
    if (this.refused.length < this.refusedLimit) {
      this.refused.push({ path: Buffer.from(`${parent.path}/${name}`, 'latin1').toString('utf8'), reason });
    }
  }

  /** One more entry done; every `progressEvery` (or `progressIntervalMs`), report a cursor pointing at it. */
  private finished(name: string): void {
    if (!this.options.onProgress) return;
    const interval = this.options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    if (++this.sinceProgress < this.progressEvery && !(interval > 0 && Date.now() - this.lastProgressAt >= interval)) return;
    this.sinceProgress = 0;
    this.lastProgressAt = Date.now();
    const cursor = this.stack.slice(1).map((f) => f.name);
    cursor.push(name);
    this.options.onProgress({ cursor, counts: { ...this.counts } });
  }

  /**
   * OnRootMismatch plus drift detection: random root-to-leaf descents; any entry on the way with the wrong
   * owner (that the walk would change) means the volume is not done.
   */
  private sampleLooksRight(rootFd: number, rootNames: string[]): boolean {
    const samples = this.options.sampleSize ?? 32;
    for (let i = 0; i < samples; i++) {
      let dirFd = rootFd;
      try {
        for (let depth = 0; depth < 64; depth++) {
          const names = dirFd === rootFd ? rootNames : listNames(dirFd);
          if (names.length === 0) break;
          const name = names[Math.floor(Math.random() * names.length)];
          const childPath = procPath(dirFd, name);
          const st = fs.lstatSync(childPath, { throwIfNoEntry: false });
          if (!st || st.isSymbolicLink() || st.dev !== this.rootDev) break;
          const wouldChange = !(st.isFile() && st.nlink > 1) && !st.isBlockDevice() && !st.isCharacterDevice() && !st.isSocket();
          if (wouldChange && !this.isRight(st.uid, st.gid)) return false;
          if (!st.isDirectory()) break;
          let next: number;
          try {
            next = fs.openSync(childPath, DIR_FLAGS | O_NOATIME);
          } catch {
            break;
          }
          if (dirFd !== rootFd) fs.closeSync(dirFd);
          dirFd = next;
          if (mountIdOf(dirFd) !== this.rootMountId) break;
        }
      } finally {
        if (dirFd !== rootFd) fs.closeSync(dirFd);
      }
    }
    return true;
  }
}

function procPath(dirFd: number, name: string): Buffer {
  return Buffer.from(`/proc/self/fd/${dirFd}/${name}`, 'latin1');
}

function listNames(dirFd: number): string[] {
  return fs.readdirSync(`/proc/self/fd/${dirFd}`, { encoding: 'latin1' }).sort();
}

function openNoFollow(path: Buffer, flags: number): number {
  try {
    return fs.openSync(path, flags | O_NOATIME);
  } catch (error) {
    // O_NOATIME is refused (EPERM) where the caller neither owns the file nor has CAP_FOWNER.
    if ((error as NodeJS.ErrnoException).code === 'EPERM' && O_NOATIME) return fs.openSync(path, flags);
    throw error;
  }
}

/** The mount a descriptor lives on, from /proc/self/fdinfo (Linux 3.15+); undefined where not shown. */
function mountIdOf(fd: number): string | undefined {
  try {
    return /^mnt_id:\s*(\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
}

/** Mount points strictly below `root` (latin1 paths), from mountinfo's fifth field (octal-escaped). */
export function mountPointsUnder(root: string, mountInfoFile: string): Set<string> {
  const found = new Set<string>();
  let text: string;
  try {
    text = fs.readFileSync(mountInfoFile, 'latin1');
  } catch {
    return found;
  }
  const prefix = root.endsWith('/') ? root : `${root}/`;
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (mountPoint.startsWith(prefix)) found.add(mountPoint);
  }
  return found;
}

function lowerBound(sorted: string[], value: string): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
