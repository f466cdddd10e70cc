import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Owner, RefusedEntry, WalkCounts, WalkOptions, WalkProgress, WalkResult } from './nodeEngine';

/**
 * The ownership walk done by `sharemount-walk` (native/sharemount-walk.c): the same rules, order, counts and
 * cursor as the Node walk in ownershipWalk.ts, at a fraction of the system calls per file (fstatat from the
 * directory's descriptor, then O_PATH + fstat + fchownat(AT_EMPTY_PATH) for a file that needs changing,
 * instead of lstat + open + fstat + fchown + close through /proc paths).
 *
 * The helper runs in lock step with its caller: after each progress report it waits until the caller has
 * handled it (heartbeat, cancellation, or a test that changes the tree right then). The two speak over two
 * FIFOs that the caller opens blocking, so the synchronous `walkOwnership` can drive it too.
 *
 * Built by `npm run build` (gcc) to dist/native/sharemount-walk; where it is missing, the Node walk runs.
 */

export const NATIVE_HELPER_NAME = 'sharemount-walk';

/** The helper to use, or undefined: $SHAREMOUNT_WALK_HELPER, else dist/native/sharemount-walk. */
export function nativeWalkHelper(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const explicit = process.env.SHAREMOUNT_WALK_HELPER;
  const candidates = explicit
    ? [explicit]
    : [
        path.resolve(__dirname, '..', '..', 'native', NATIVE_HELPER_NAME), // dist/activities/lxc → dist/native
        path.resolve(__dirname, '..', '..', '..', 'dist', 'native', NATIVE_HELPER_NAME), // src/activities/lxc → dist/native
      ];
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not built here
    }
  }
  return undefined;
}

/** Which walk runs: options.engine, else $SHAREMOUNT_WALK_ENGINE (node | native), else native when built. */
export function chooseEngine(options: Pick<WalkOptions, 'engine'>): { engine: 'node' } | { engine: 'native'; helper: string } {
  const wanted = options.engine ?? (process.env.SHAREMOUNT_WALK_ENGINE as WalkOptions['engine']) ?? 'auto';
  if (wanted === 'node') return { engine: 'node' };
  const helper = nativeWalkHelper();
  if (helper) return { engine: 'native', helper };
  if (wanted === 'native') throw new Error(`the native ownership walk is not built (${NATIVE_HELPER_NAME}: run npm run build, or set SHAREMOUNT_WALK_HELPER)`);
  return { engine: 'node' };
}

const REASONS: Record<string, (n: number) => string> = {
  H: (n) => `regular file with ${n} hard links: another link may be a host file outside the volume`,
  h: (n) => `regular file with ${n} hard links`,
  V: () => 'device node: changing its owner could hand a device to the container',
  S: () => 'socket: cannot be opened to change it safely',
  D: (n) => `deeper than ${n} levels; not entered`,
  X: () => 'replaced by something else while the walk ran; not entered',
  Y: () => 'replaced by another directory while the walk ran; not entered',
  L: () => 'replaced by a symlink or socket while the walk ran',
  W: () => 'replaced while the walk ran',
  T: () => 'changed type while the walk ran',
};

const hex = (latin1: string) => Buffer.from(latin1, 'latin1').toString('hex');
const fromHex = (text: string) => Buffer.from(text, 'hex').toString('latin1');

function parseCounts(fields: string[]): WalkCounts {
  const [entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts] = fields.map(Number);
  return { entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts };
}

/** The running helper and the caller's ends of its two FIFOs. */
class HelperProcess {
  private readonly child: ChildProcess;
  private readonly replies: number;
  private readonly requests: number;
  private pending = '';
  private readonly chunk = Buffer.alloc(1 << 16);
  finished = false;
  private closed = false;

  constructor(helper: string, args: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-walk-'));
    const replyFifo = path.join(dir, 'replies');
    const requestFifo = path.join(dir, 'requests');
    try {
      execFileSync('mkfifo', ['-m', '600', replyFifo, requestFifo], { stdio: 'pipe' });
      const { O_RDWR, O_RDONLY, O_WRONLY } = fs.constants;
      // Opening a FIFO blocks until the other end is open; an O_RDWR descriptor (Linux) is both ends, so
      // each open below returns at once, and every descriptor kept is a blocking one.
      const replyKeep = fs.openSync(replyFifo, O_RDWR);
      const childOut = fs.openSync(replyFifo, O_WRONLY);
      this.replies = fs.openSync(replyFifo, O_RDONLY);
      fs.closeSync(replyKeep);
      const requestKeep = fs.openSync(requestFifo, O_RDWR);
      const childIn = fs.openSync(requestFifo, O_RDONLY);
      this.requests = fs.openSync(requestFifo, O_WRONLY);
      fs.closeSync(requestKeep);
      try {
        // Node opens every descriptor close-on-exec: the helper gets only these two, so it sees EOF when we close.
        this.child = spawn(helper, args, { stdio: [childIn, childOut, 'inherit'] });
        this.child.on('error', () => undefined); // reported below as a reply stream that ends without a result
      } finally {
        fs.closeSync(childIn);
        fs.closeSync(childOut); // from now on the helper is the only writer: its exit is our EOF
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The next line from the helper (blocking), or undefined once it has exited. */
  readLine(): string | undefined {
    for (;;) {
      const newline = this.pending.indexOf('\n');
      if (newline >= 0) {
        const line = this.pending.slice(0, newline);
        this.pending = this.pending.slice(newline + 1);
        return line;
      }
      let n: number;
      try {
        n = fs.readSync(this.replies, this.chunk, 0, this.chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EINTR' || (error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw error;
      }
      if (n === 0) return undefined;
      this.pending += this.chunk.toString('latin1', 0, n);
    }
  }

  /** Lets the helper go on after a progress report. */
  proceed(): void {
    fs.writeSync(this.requests, 'c');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.requests); // a helper waiting for the go-ahead stops at this EOF
    fs.closeSync(this.replies);
    if (!this.finished) this.child.kill('SIGKILL');
  }
}

/**
 * The native walk as a generator that pauses after each progress report (already handled and acknowledged),
 * so the async caller can yield to the event loop there. Returns the result.
 */
export function* nativeWalkSteps(helper: string, root: string, owner: Owner, options: WalkOptions): Generator<void, WalkResult> {
  for (const id of [owner.uid, owner.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32 - 1) throw new Error(`refusing to chown to invalid id ${id}`);
  }
  // Same root handling as the Node walk: the logical path for reports; a symlink root fails (ELOOP) in open.
  const rootPath = fs.realpathSync(root, { encoding: 'buffer' }).toString('latin1');
  // Imported lazily: ownershipWalk.ts imports this file.
  const { mountPointsUnder, DEFAULT_PROGRESS_INTERVAL_MS } = require('./nodeEngine') as typeof import('./nodeEngine');
  const mountPoints = mountPointsUnder(rootPath, options.mountInfoFile ?? '/proc/self/mountinfo');
  const progressEvery = options.onProgress ? Math.max(1, options.progressEvery ?? 1000) : 0;
  const refusedLimit = options.refusedLimit ?? 100;
  const args = [
    Buffer.from(root).toString('hex'),
    hex(rootPath),
    String(owner.uid),
    String(owner.gid),
    options.fullScan ? '1' : '0',
    String(options.sampleSize ?? 32),
    String(progressEvery),
    String(options.maxDepth ?? 512),
    String(refusedLimit),
    ...[...mountPoints].map((m) => `m:${hex(m)}`),
    `t:${options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS}`,
  ];
  const resume = options.resumeFrom;
  if (resume && Array.isArray(resume.cursor)) {
    args.push(...resume.cursor.map((name) => `c:${hex(name)}`));
    const c = resume.counts;
    args.push(`n:${[c.entries, c.changed, c.alreadyRight, c.refusedCount, c.skippedSymlinks, c.skippedMounts].join(',')}`);
  }

  const helperProcess = new HelperProcess(helper, args);
  const refused: RefusedEntry[] = [];
  try {
    for (;;) {
      const line = helperProcess.readLine();
      if (line === undefined) throw new Error(`${NATIVE_HELPER_NAME} stopped without a result (killed, or could not start: ${helper})`);
      const fields = line.split(' ');
      switch (fields[0]) {
        case 'P': {
          const progress: WalkProgress = { cursor: fields.slice(7).map(fromHex), counts: parseCounts(fields.slice(1, 7)) };
          options.onProgress?.(progress);
          helperProcess.proceed();
          yield;
          break;
        }
        case 'R': {
          const reason = REASONS[fields[1]] ?? (() => `refused (${fields[1]})`);
          if (refused.length < refusedLimit) refused.push({ path: Buffer.from(fields[3], 'hex').toString('utf8'), reason: reason(Number(fields[2])) });
          break;
        }
        case 'D':
          helperProcess.finished = true;
          return { ...parseCounts(fields.slice(1, 7)), refused, skippedByRootCheck: fields[7] === '1' };
        case 'E': {
          helperProcess.finished = true;
          const message = Buffer.from(fields[2] ?? '', 'hex').toString('utf8');
          throw Object.assign(new Error(`${fields[1]}: ${message}`), { code: fields[1] });
        }
        default:
          throw new Error(`${NATIVE_HELPER_NAME}: unexpected reply ${JSON.stringify(line.slice(0, 80))}`);
      }
    }
  } finally {
    helperProcess.close();
  }
}
