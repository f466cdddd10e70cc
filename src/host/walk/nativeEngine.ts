import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { HELPER_NAME as NATIVE_HELPER_NAME } from './helper';
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
 * The ownership walk done by `sharemount-walk` (native/sharemount-walk.c, which describes its protocol): the
 * contract of types.ts at a fraction of the system calls per entry. This driver starts it with plain pipes
 * and speaks to it in lock step: after each report the helper waits for one byte, which is sent once
 * `onProgress` has settled (a heartbeat, a cancellation, or a test that changes the tree right then).
 *
 * Which helper runs, and whether one does, is helper.ts's to decide.
 */

const hexOf = (latin1: string) => Buffer.from(latin1, 'latin1').toString('hex');
const latin1OfHex = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');

function parseCounts(fields: string[]): WalkCounts {
  const [entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts] = fields.map(Number);
  return { entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts };
}

function helperArgs(root: string, owner: Owner, options: WalkOptions, resume: WalkProgress | undefined, refused: RefusedEntry[]): string[] {
  const refusedLimit = options.refusedLimit ?? WALK_DEFAULTS.refusedLimit;
  const args = [
    Buffer.from(root).toString('hex'),
    String(owner.uid),
    String(owner.gid),
    `s:${options.sampleSize ?? WALK_DEFAULTS.sampleSize}`,
    `p:${Math.max(1, options.progressEvery ?? WALK_DEFAULTS.progressEvery)}`,
    `t:${options.progressIntervalMs ?? WALK_DEFAULTS.progressIntervalMs}`,
    `d:${options.maxDepth ?? WALK_DEFAULTS.maxDepth}`,
    `r:${Math.max(0, refusedLimit - refused.length)}`,
    `w:${options.windowSize ?? WALK_DEFAULTS.windowSize}`,
  ];
  if (options.fullScan) args.push('f');
  if (options.expectedRoot) args.push(`e:${options.expectedRoot.dev}:${options.expectedRoot.ino}`);
  if (resume) {
    args.push(...resume.cursor.map((name) => `c:${hexOf(name)}`));
    const c = resume.counts;
    args.push(`n:${[c.entries, c.changed, c.alreadyRight, c.refusedCount, c.skippedSymlinks, c.skippedMounts].join(',')}`);
  }
  return args;
}

/** Walks `root` with the native helper; same contract, options and result as the Node engine. */
export async function walkWithHelper(helper: string, root: string, owner: Owner, options: WalkOptions): Promise<WalkResult> {
  for (const id of [owner.uid, owner.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32 - 1) throw new Error(`refusing to chown to invalid id ${id}`);
  }
  const { signal, onProgress } = options;
  const stopIfCancelled = () => {
    if (signal?.aborted) throw signal.reason ?? new Error('ownership walk cancelled');
  };
  stopIfCancelled();
  // A report from the root check has no cursor: a retry after it checks the root again.
  const from = options.resumeFrom;
  const resume = from && from.phase !== 'sample' && Array.isArray(from.cursor) ? from : undefined;
  const refusedLimit = options.refusedLimit ?? WALK_DEFAULTS.refusedLimit;
  const refused: RefusedEntry[] = (resume?.refused ?? []).slice(0, refusedLimit);
  let refusedAtLastReport = [...refused];

  const child = spawn(helper, helperArgs(root, owner, options, resume, refused), { stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  child.stdin.on('error', () => undefined); // a helper that exited: its result (or its absence) says why
  let stderr = '';
  child.stderr.setEncoding('latin1');
  child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  let finished = false;
  try {
    for await (const line of lines) {
      const fields = line.split(' ');
      switch (fields[0]) {
        case 'P':
        case 'H': {
          // H repeats the last report while one directory takes long to read: its refusals are those of then
          if (fields[0] === 'P') refusedAtLastReport = [...refused];
          const progress: WalkProgress = {
            phase: fields[1] === 's' ? 'sample' : 'walk',
            cursor: fields.slice(8).map(latin1OfHex),
            counts: parseCounts(fields.slice(2, 8)),
            refused: [...refusedAtLastReport],
          };
          await onProgress?.(progress);
          stopIfCancelled();
          child.stdin.write('c');
          break;
        }
        case 'R': {
          const [, code, number, errorName, pathHex] = fields;
          const reason = code in REFUSAL_REASONS ? REFUSAL_REASONS[code as RefusalCode](Number(number), errorName) : `refused (${code})`;
          addRefusal(refused, refusedLimit, Buffer.from(pathHex, 'hex'), reason);
          break;
        }
        case 'D': {
          finished = true;
          return { ...parseCounts(fields.slice(1, 7)), refused, skippedByRootCheck: fields[7] === '1', rootLeft: fields[8] === '1' };
        }
        case 'E': {
          finished = true;
          const [, kind, code, messageHex] = fields;
          const message = Buffer.from(messageHex ?? '', 'hex').toString('utf8');
          if (kind === 'root') throw new WalkRootError(code as WalkRootError['code'], `${root}: ${message}`);
          throw Object.assign(new Error(`${NATIVE_HELPER_NAME}: ${message}`), { code });
        }
        default:
          throw new Error(`${NATIVE_HELPER_NAME}: unexpected record ${JSON.stringify(line.slice(0, 80))}`);
      }
    }
    await closed;
    const how = spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode}`;
    throw new Error(`${NATIVE_HELPER_NAME} stopped without a result (${how}): ${stderr.trim()}`);
  } finally {
    lines.close();
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdin.destroy();
    child.stdout.destroy();
    await closed; // no descriptor of ours outlives the walk
  }
}
