import * as fs from 'node:fs';
import {
  addRefusal,
  REFUSAL_REASONS,
  WALK_DEFAULTS,
  WalkRootError,
  type Owner,
  type RefusalCode,
  type RefusedEntry,
  type WalkCounts,
  type WalkOptions,
  type WalkProgress,
  type WalkResult,
} from './types';

/**
 * The Node engine of the ownership walk (the contract is in types.ts). Node has no openat nor fchownat, so:
 *
 * - Every entry, directories included, is reached as `/proc/self/fd/<dirfd>/<name>`, which the kernel resolves
 *   from the held directory, and opened O_PATH|O_NOFOLLOW: that descriptor pins the inode (a symlink stays a
 *   symlink), fstat on it decides, and `chown('/proc/self/fd/<fd>')` follows the magic link to exactly that
 *   inode. Nothing in the volume is opened for reading or writing, so leases and FIFOs cannot block or fail it.
 * - Directories are held as O_PATH descriptors too, and read through their magic link in sorted windows: the
 *   next window is the smallest names after the last one handled, kept in a bounded max-heap while the
 *   directory is streamed.
 * - The mount of every entry is the `mnt_id` of its descriptor (/proc/self/fdinfo); not being able to read it
 *   is a refusal, never a guess.
 * - A directory counts in `entries` when it is finished (post-order), so a report taken while a directory is
 *   being read never counts something its cursor does not cover, and a resume counts each entry once.
 * - The work runs in slices: it yields to the event loop every YIELD_AFTER_MS, and reports on time as well as
 *   on count, during the root check and while streaming a large directory too.
 */

/** Test-only seam: how fdinfo is read (a failure at exactly one read cannot be produced on demand). */
export interface NodeEngineTestHooks {
  readFdInfo?: (fd: number) => string;
}

/** O_PATH is 010000000 on Linux x86_64 and arm64; Node's fs.constants does not export it. */
const O_PATH = 0o10000000;
const PATH_FLAGS = O_PATH | fs.constants.O_NOFOLLOW;
const YIELD_AFTER_MS = 20;
/** Names the directory stream buffers per read(2)-like call; a window is kept separately. */
const DIR_BUFFER = 256;

type Mode = 'normal' | 'recheck' | 'resume';

interface Frame {
  /** O_PATH descriptor of the directory. */
  fd: number;
  /** Name in the parent (latin1); '' for the root. */
  name: string;
  /** Sorted names of the current window. */
  window: string[];
  index: number;
  /** The last name handled: the next window holds the smallest names after it. */
  after: string | undefined;
  /** More names than the current window holds (or nothing read yet). */
  more: boolean;
  /** While resuming: index into the cursor of the name this directory holds; undefined once past it. */
  cursorLevel: number | undefined;
  /** Could not be read: refused already; finished without being changed. */
  failed: boolean;
}

export async function walkWithNode(root: string, owner: Owner, options: WalkOptions & NodeEngineTestHooks = {}): Promise<WalkResult> {
  for (const id of [owner.uid, owner.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32 - 1) throw new Error(`refusing to chown to invalid id ${id}`);
  }
  return new NodeWalk(root, owner, options).run();
}

class NodeWalk {
  private readonly stack: Frame[] = [];
  private readonly counts: WalkCounts = { entries: 0, changed: 0, alreadyRight: 0, refusedCount: 0, skippedSymlinks: 0, skippedMounts: 0 };
  private readonly refused: RefusedEntry[] = [];
  private readonly rootBytes: Buffer;
  private readonly cursor: string[];
  private readonly progressEvery: number;
  private readonly intervalMs: number;
  private readonly refusedLimit: number;
  private readonly maxDepth: number;
  private readonly windowSize: number;
  private rootFd = -1;
  private rootMount: string | undefined;
  private phase: WalkProgress['phase'] = 'walk';
  /** A re-check behind the cursor found something it could not change (not counted again, but not converged). */
  private unconverged = false;
  private rootLeft = false;
  private lastName: string | undefined;
  private lastDepth = 0;
  private sinceReport = 0;
  private lastReport = Date.now();
  private lastYield = Date.now();

  constructor(
    private readonly root: string,
    private readonly owner: Owner,
    private readonly options: WalkOptions & NodeEngineTestHooks,
  ) {
    this.rootBytes = Buffer.from(root);
    this.progressEvery = Math.max(1, options.progressEvery ?? WALK_DEFAULTS.progressEvery);
    this.intervalMs = options.progressIntervalMs ?? WALK_DEFAULTS.progressIntervalMs;
    this.refusedLimit = options.refusedLimit ?? WALK_DEFAULTS.refusedLimit;
    this.maxDepth = options.maxDepth ?? WALK_DEFAULTS.maxDepth;
    this.windowSize = Math.max(1, options.windowSize ?? WALK_DEFAULTS.windowSize);
    // A report from the root check (or one without a cursor) has nothing finished to resume from.
    const resume = options.resumeFrom;
    this.cursor = resume && resume.phase !== 'sample' && Array.isArray(resume.cursor) ? resume.cursor : [];
    if (this.cursor.length && resume) {
      Object.assign(this.counts, resume.counts);
      this.refused.push(...(resume.refused ?? []).slice(0, this.refusedLimit));
    }
  }

  async run(): Promise<WalkResult> {
    try {
      this.rootFd = openRoot(this.root);
      const st = fs.fstatSync(this.rootFd);
      const expected = this.options.expectedRoot;
      if (expected && (st.dev !== expected.dev || st.ino !== expected.ino)) {
        throw new WalkRootError('RootChanged', `${this.root} is not the directory the plan saw (device ${expected.dev}, inode ${expected.ino})`);
      }
      this.rootMount = this.mountId(this.rootFd);
      if (this.rootMount === undefined) throw new Error(`${this.root}: cannot read the mount id of the volume root from /proc/self/fdinfo`);
      if (!this.options.fullScan && !this.cursor.length && this.isRight(st) && (await this.sampleLooksRight())) {
        this.counts.entries++;
        this.counts.alreadyRight++;
        return this.result(true);
      }
      this.phase = 'walk';
      this.stack.push(newFrame(this.rootFd, '', this.cursor.length ? 0 : undefined));
      while (this.stack.length) {
        const top = this.stack[this.stack.length - 1];
        if (top.index >= top.window.length) {
          if (top.more && !top.failed) {
            await this.readWindow(top);
            continue;
          }
          this.finishDirectory();
          const pause = this.stack.length ? this.tick(true) : undefined;
          if (pause) await pause;
          continue;
        }
        const name = top.window[top.index++];
        top.after = name;
        const pushed = this.visit(top, name, this.modeFor(top, name));
        if (!pushed) this.finished(name);
        const pause = this.tick(!pushed);
        if (pause) await pause;
      }
      return this.result(false);
    } finally {
      for (const frame of this.stack.splice(0)) if (frame.fd !== this.rootFd) fs.closeSync(frame.fd);
      if (this.rootFd >= 0) fs.closeSync(this.rootFd);
      this.rootFd = -1;
    }
  }

  private result(skippedByRootCheck: boolean): WalkResult {
    return { ...this.counts, refused: [...this.refused], skippedByRootCheck, rootLeft: this.rootLeft };
  }

  /** One more entry looked at, and what became of it. */
  private count(outcome: Exclude<keyof WalkCounts, 'entries'>): void {
    this.counts.entries++;
    this.counts[outcome]++;
  }

  private isRight(st: fs.Stats): boolean {
    return st.uid === this.owner.uid && st.gid === this.owner.gid;
  }

  private mountId(fd: number): string | undefined {
    try {
      return /^mnt_id:\s*(\d+)/m.exec(this.options.readFdInfo ? this.options.readFdInfo(fd) : readFdInfo(fd))?.[1];
    } catch {
      return undefined;
    }
  }

  /**
   * Resume: in each directory on the cursor path, names before the cursor's (and, at its last level, the
   * cursor's own) were finished by the earlier run: re-checked, not walked again; the cursor's directory at an
   * inner level was in progress: entered again.
   */
  private modeFor(frame: Frame, name: string): Mode {
    if (frame.cursorLevel === undefined) return 'normal';
    const at = this.cursor[frame.cursorLevel];
    if (name < at) return 'recheck';
    if (name === at) return frame.cursorLevel === this.cursor.length - 1 ? 'recheck' : 'resume';
    frame.cursorLevel = undefined;
    return 'normal';
  }

  /** Looks at one entry and changes it if it is safe; true when it is a directory now being walked. */
  private visit(parent: Frame, name: string, mode: Mode): boolean {
    let fd: number;
    try {
      fd = fs.openSync(procPath(parent.fd, name), PATH_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT') this.refuse(name, mode, 'errno', 0, code); // ENOENT: removed since the listing
      return false;
    }
    let held = false;
    try {
      const st = fs.fstatSync(fd);
      const fresh = mode === 'normal';
      if (st.isSymbolicLink()) {
        if (fresh) this.count('skippedSymlinks');
        return false;
      }
      // A right non-directory is neither changed nor entered: its mount does not matter (and costs a read).
      if (!st.isDirectory() && this.isRight(st)) {
        if (fresh) this.count('alreadyRight');
        return false;
      }
      const mount = this.mountId(fd);
      if (mount === undefined) return this.refuse(name, mode, 'unknownMount');
      if (mount !== this.rootMount) {
        if (fresh) this.count('skippedMounts');
        return false;
      }
      if (st.isDirectory()) {
        // Behind the cursor a right directory was finished (post-order); a wrong one is walked like a new one.
        if (mode === 'recheck' && this.isRight(st)) return false;
        if (this.stack.length >= this.maxDepth) return this.refuse(name, mode, 'tooDeep', this.maxDepth);
        this.stack.push(newFrame(fd, name, mode === 'resume' ? parent.cursorLevel! + 1 : undefined));
        held = true;
        return true;
      }
      if (st.nlink > 1) return this.refuse(name, mode, 'hardLinks', st.nlink);
      if (st.isBlockDevice() || st.isCharacterDevice()) return this.refuse(name, mode, 'device');
      if (st.isSocket()) return this.refuse(name, mode, 'socket');
      try {
        fs.chownSync(`/proc/self/fd/${fd}`, this.owner.uid, this.owner.gid);
      } catch (error) {
        return this.refuse(name, mode, 'errno', 0, errorCode(error));
      }
      // Behind the cursor a wrong entry is new (or drifted since): it counts like one.
      this.count('changed');
      return false;
    } finally {
      if (!held) fs.closeSync(fd);
    }
  }

  /** After all children: the directory itself, through its descriptor; the root only when all converged. */
  private finishDirectory(): void {
    const frame = this.stack.pop()!;
    const isRoot = this.stack.length === 0;
    try {
      if (frame.failed) return;
      const st = fs.fstatSync(frame.fd);
      if (this.isRight(st)) {
        this.count('alreadyRight');
      } else if (isRoot && (this.counts.refusedCount > 0 || this.unconverged)) {
        this.counts.entries++;
        this.rootLeft = true;
      } else {
        try {
          fs.chownSync(`/proc/self/fd/${frame.fd}`, this.owner.uid, this.owner.gid);
        } catch (error) {
          if (isRoot) throw error;
          this.refuse(frame.name, 'normal', 'errno', 0, errorCode(error));
          return;
        }
        this.count('changed');
      }
    } finally {
      fs.closeSync(frame.fd);
      if (isRoot) this.rootFd = -1;
      else this.finished(frame.name);
    }
  }

  /** Refuses `name` in the directory on top of the stack; behind the cursor it was counted already. */
  private refuse(name: string, mode: Mode, code: RefusalCode, n = 0, errName?: string): false {
    if (mode !== 'normal') {
      this.unconverged = true;
      return false;
    }
    this.counts.entries++;
    this.counts.refusedCount++;
    addRefusal(this.refused, this.refusedLimit, this.pathOf(name), REFUSAL_REASONS[code](n, errName));
    return false;
  }

  private pathOf(name: string): Buffer {
    const parts: Buffer[] = [this.rootBytes];
    for (const frame of this.stack.slice(1)) parts.push(Buffer.from(`/${frame.name}`, 'latin1'));
    parts.push(Buffer.from(`/${name}`, 'latin1'));
    return Buffer.concat(parts);
  }

  /** Reads the next sorted window of `frame`: the smallest `windowSize` names after `frame.after`. */
  private async readWindow(frame: Frame): Promise<void> {
    const after = frame.after;
    const heap = new MaxHeap();
    let more = false;
    let dir: fs.Dir;
    try {
      dir = fs.opendirSync(`/proc/self/fd/${frame.fd}`, { encoding: 'latin1', bufferSize: DIR_BUFFER });
    } catch (error) {
      return this.failDirectory(frame, error);
    }
    try {
      for (;;) {
        let entry: fs.Dirent | null;
        try {
          entry = dir.readSync();
        } catch (error) {
          return this.failDirectory(frame, error);
        }
        if (!entry) break;
        const name = entry.name;
        if (after !== undefined && name <= after) continue;
        if (heap.size < this.windowSize) heap.push(name);
        else {
          more = true;
          if (name < heap.max()) heap.replaceMax(name);
        }
        const pause = this.tick(false);
        if (pause) await pause;
      }
    } finally {
      dir.closeSync();
    }
    frame.window = heap.sorted();
    frame.index = 0;
    frame.more = more;
  }

  private failDirectory(frame: Frame, error: unknown): void {
    if (frame.fd === this.rootFd) throw error;
    this.stack.pop();
    this.refuse(frame.name, 'normal', 'errno', 0, errorCode(error));
    this.stack.push(frame);
    frame.failed = true;
    frame.window = [];
    frame.more = false;
  }

  private finished(name: string): void {
    this.lastName = name;
    this.lastDepth = this.stack.length;
  }

  /** Per unit of work: a report when one is due (by count or time), else a yield when the slice is used up. */
  private tick(counted: boolean): Promise<void> | undefined {
    if (counted) this.sinceReport++;
    const now = Date.now();
    if (this.options.onProgress && (this.sinceReport >= this.progressEvery || (this.intervalMs > 0 && now - this.lastReport >= this.intervalMs))) {
      return this.report();
    }
    if (now - this.lastYield >= YIELD_AFTER_MS) return this.yieldNow();
    return undefined;
  }

  private async report(): Promise<void> {
    this.sinceReport = 0;
    const cursor = this.phase === 'walk' && this.lastName !== undefined ? [...this.stack.slice(1, this.lastDepth).map((f) => f.name), this.lastName] : [];
    await this.options.onProgress!({ phase: this.phase, cursor, counts: { ...this.counts }, refused: [...this.refused] });
    this.lastReport = Date.now();
    this.stopIfAborted();
    // A listener that answers synchronously gives the event loop no turn: take one here.
    await this.yieldNow();
  }

  private async yieldNow(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.lastYield = Date.now();
    this.stopIfAborted();
  }

  private stopIfAborted(): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw signal.reason ?? new Error('ownership walk cancelled');
  }

  /**
   * The root check's drift detection: `sampleSize` descents from the root, as a tree: each directory is streamed
   * once, `budget` of its children are reservoir-sampled and the budget is split among them, so no directory is
   * listed twice, memory is the samples on one path, and descents reach any depth within maxDepth. Any entry on
   * the way that the walk would change means the volume is not done.
   */
  private async sampleLooksRight(): Promise<boolean> {
    const budget = this.options.sampleSize ?? WALK_DEFAULTS.sampleSize;
    if (budget <= 0) return true;
    this.phase = 'sample';
    return this.sampleDirectory(this.rootFd, budget, 1);
  }

  private async sampleDirectory(dirFd: number, budget: number, depth: number): Promise<boolean> {
    const picks = await this.reservoir(dirFd, budget);
    if (!picks) return false; // could not be read: the walk will look, and refuse it
    for (const [i, name] of picks.entries()) {
      const share = Math.floor(budget / picks.length) + (i < budget % picks.length ? 1 : 0);
      let fd: number;
      try {
        fd = fs.openSync(procPath(dirFd, name), PATH_FLAGS);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        return false;
      }
      try {
        const st = fs.fstatSync(fd);
        if (st.isSymbolicLink()) continue;
        const mount = this.mountId(fd);
        if (mount === undefined) return false;
        if (mount !== this.rootMount) continue;
        const wouldChange = st.isDirectory() || (st.nlink <= 1 && !st.isBlockDevice() && !st.isCharacterDevice() && !st.isSocket());
        if (wouldChange && !this.isRight(st)) return false;
        if (st.isDirectory() && depth < this.maxDepth && !(await this.sampleDirectory(fd, share, depth + 1))) return false;
      } finally {
        fs.closeSync(fd);
      }
    }
    return true;
  }

  /** Streams a directory once and keeps `k` of its names, each equally likely (reservoir sampling). */
  private async reservoir(dirFd: number, k: number): Promise<string[] | undefined> {
    const picks: string[] = [];
    let dir: fs.Dir;
    try {
      dir = fs.opendirSync(`/proc/self/fd/${dirFd}`, { encoding: 'latin1', bufferSize: DIR_BUFFER });
    } catch {
      return undefined;
    }
    try {
      for (let seen = 0; ; seen++) {
        let entry: fs.Dirent | null;
        try {
          entry = dir.readSync();
        } catch {
          return undefined;
        }
        if (!entry) break;
        if (picks.length < k) picks.push(entry.name);
        else {
          const j = Math.floor(Math.random() * (seen + 1));
          if (j < k) picks[j] = entry.name;
        }
        const pause = this.tick(true);
        if (pause) await pause;
      }
    } finally {
      dir.closeSync();
    }
    return picks;
  }
}

function newFrame(fd: number, name: string, cursorLevel: number | undefined): Frame {
  return { fd, name, window: [], index: 0, after: undefined, more: true, cursorLevel, failed: false };
}

const fdInfoBuffer = Buffer.alloc(4096);

/** /proc/self/fdinfo/<fd> (pos, flags, mnt_id, …: far less than a page), without readFileSync's fstat. */
function readFdInfo(fd: number): string {
  const info = fs.openSync(`/proc/self/fdinfo/${fd}`, fs.constants.O_RDONLY);
  try {
    return fdInfoBuffer.toString('latin1', 0, fs.readSync(info, fdInfoBuffer, 0, fdInfoBuffer.length, 0));
  } finally {
    fs.closeSync(info);
  }
}

function procPath(dirFd: number, name: string): Buffer {
  return Buffer.from(`/proc/self/fd/${dirFd}/${name}`, 'latin1');
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

/**
 * Opens the volume root from `/`, one component at a time through the previous component's descriptor, with
 * no symlink allowed anywhere; the path must be absolute and canonical. Returns an O_PATH descriptor.
 */
function openRoot(root: string): number {
  if (
    !root.startsWith('/') ||
    (root !== '/' &&
      root
        .slice(1)
        .split('/')
        .some((c) => c === '' || c === '.' || c === '..'))
  ) {
    throw new WalkRootError('NotCanonical', `${JSON.stringify(root)} is not an absolute canonical path (no ".", "..", "//" nor trailing "/")`);
  }
  let fd = fs.openSync('/', O_PATH | fs.constants.O_DIRECTORY);
  let sofar = '';
  try {
    for (const component of root === '/' ? [] : root.slice(1).split('/')) {
      sofar += `/${component}`;
      let next: number;
      try {
        next = fs.openSync(`/proc/self/fd/${fd}/${component}`, PATH_FLAGS);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') throw new WalkRootError('NotFound', `${sofar} does not exist (volume root ${root})`);
        if (errorCode(error) === 'ENOTDIR')
          throw new WalkRootError('NotADirectory', `${sofar.slice(0, sofar.lastIndexOf('/')) || '/'} is not a directory (volume root ${root})`);
        throw error;
      }
      fs.closeSync(fd);
      fd = next;
      const st = fs.fstatSync(fd);
      if (st.isSymbolicLink())
        throw new WalkRootError('SymlinkInPath', `${sofar} is a symlink; no component of a volume root may be one (volume root ${root})`);
      if (!st.isDirectory()) throw new WalkRootError('NotADirectory', `${sofar} is not a directory (volume root ${root})`);
    }
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** A binary max-heap of strings (bytewise, as latin1): the smallest names seen so far, at most one window. */
class MaxHeap {
  private readonly items: string[] = [];

  get size(): number {
    return this.items.length;
  }

  max(): string {
    return this.items[0];
  }

  push(value: string): void {
    const items = this.items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] >= value) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = value;
  }

  replaceMax(value: string): void {
    const items = this.items;
    const n = items.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && items[child + 1] > items[child]) child++;
      if (items[child] <= value) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = value;
  }

  sorted(): string[] {
    // Default sort compares UTF-16 code units: for latin1 strings, byte order.
    return this.items.sort();
  }
}
