import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { walkOwnership, type WalkOptions, type WalkProgress } from '../../src/host/walk';
import { allPaths, makeTree, mount, owner, scratchDir, unmount } from './lxc-support';

const TARGET = { uid: 100000, gid: 100000 };
const TREE = ['a/1', 'a/2', 'a/3', 'b/c/x', 'b/c/y', 'b/d/', 'empty/', 'f', 'g'];

function volume(): string {
  const root = path.join(scratchDir('walk'), 'vol');
  fs.mkdirSync(root);
  makeTree(root, TREE);
  return root;
}

/** `count` empty files in dir, made by touch in batches (much faster than one call each). */
function touchMany(dir: string, count: number, name: (i: number) => string): void {
  const batch = 2000;
  for (let start = 0; start < count; start += batch) {
    const names = Array.from({ length: Math.min(batch, count - start) }, (_, i) => name(start + i));
    execFileSync('touch', names, { cwd: dir });
  }
}

/** The live native helper started by this process, if any (found through /proc: no hook in the helper). */
function helperPid(): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    // a zombie has stopped already; it is only not yet reaped
    if (Number(ppid) === process.pid && comm === 'sharemount-walk' && state !== 'Z') return Number(entry);
  }
  return undefined;
}

const REGISTER_TS = path.resolve(__dirname, '../support/register-ts.js');
const WALK_MODULE = path.resolve(__dirname, '../../src/host/walk/index.ts');

/**
 * One walk in a process of its own (node --expose-gc; argv: register-ts, the walk module, root, engine, window
 * size), measured at every report: the native helper's peak RSS (VmHWM: it waits for the answer then), or this
 * process's live heap after a full collection (names are heap strings) for the Node engine.
 */
const MEASURED_WALK = `
const fs = require('node:fs');
const [register, walkModule, root, engine, windowSize] = process.argv.slice(1);
require(register);
const { walkOwnership } = require(walkModule);
function helperPeakKB() {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync('/proc/' + entry + '/stat', 'latin1');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z' || stat.slice(stat.indexOf('(') + 1, close) !== 'sharemount-walk') continue;
      return Number(/^VmHWM:\\s+([0-9]+) kB/m.exec(fs.readFileSync('/proc/' + entry + '/status', 'latin1'))[1]);
    } catch {}
  }
  return 0;
}
(async () => {
  global.gc();
  const before = process.memoryUsage().heapUsed;
  let peakKB = 0;
  let measured = 0;
  const result = await walkOwnership(root, { uid: 100000, gid: 100000 }, {
    engine,
    windowSize: Number(windowSize),
    progressEvery: 5000,
    onProgress: () => {
      let kB = 0;
      if (engine === 'native') kB = helperPeakKB();
      else {
        global.gc();
        kB = (process.memoryUsage().heapUsed - before) / 1024;
      }
      if (engine === 'node' || kB > 0) [measured, peakKB] = [measured + 1, Math.max(peakKB, kB)];
    },
  });
  process.stdout.write(JSON.stringify({ entries: result.entries, changed: result.changed, peakKB, measured }));
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
`;

describe.each(['node', 'native'] as const)('walkOwnership on a real tree (%s engine)', (engine) => {
  const walk = (root: string, options: WalkOptions = {}, target = TARGET) => walkOwnership(root, target, { engine, ...options });

  /** Walks until the report at `cursor`, where the worker "dies"; returns that last report. */
  async function stoppedAt(root: string, cursor: string): Promise<WalkProgress> {
    let last: WalkProgress | undefined;
    const stop = (p: WalkProgress) => {
      last = p;
      if (p.cursor.join('/') === cursor) throw new Error('worker died');
    };
    await expect(walk(root, { progressEvery: 1, onProgress: stop })).rejects.toThrow('worker died');
    return last!;
  }

  it('changes every entry, children before their directory, the root last', async () => {
    const root = volume();
    const paths = allPaths(root);
    expect(paths).toHaveLength(13);
    const cursors: string[] = [];
    const result = await walk(root, { progressEvery: 1, onProgress: (p) => void (p.phase === 'walk' && cursors.push(p.cursor.join('/'))) });
    expect(result).toMatchObject({ entries: 13, changed: 13, alreadyRight: 0, refusedCount: 0, skippedByRootCheck: false, rootLeft: false });
    for (const p of paths) expect(owner(p)).toBe('100000:100000');
    // deterministic post-order: sorted names, each directory right after its last child
    expect(cursors).toEqual(['a/1', 'a/2', 'a/3', 'a', 'b/c/x', 'b/c/y', 'b/c', 'b/d', 'b', 'empty', 'f', 'g']);
    // the kernel's own record of the order: chown sets ctime, so a directory's ctime is not before its children's
    const ctime = (p: string) => fs.lstatSync(p, { bigint: true }).ctimeNs;
    for (const p of paths.slice(1)) expect(ctime(root)).toBeGreaterThanOrEqual(ctime(p));
    expect(ctime(path.join(root, 'b'))).toBeGreaterThanOrEqual(ctime(path.join(root, 'b/c/y')));
  });

  it('a second run changes nothing and stops at the root check', async () => {
    const root = volume();
    await walk(root);
    expect(await walk(root)).toMatchObject({ changed: 0, skippedByRootCheck: true, entries: 1 });
    expect(await walk(root, { fullScan: true })).toMatchObject({ changed: 0, alreadyRight: 13, entries: 13, skippedByRootCheck: false });
  });

  it('skips only what is right: a wrong root means a walk even without fullScan', async () => {
    const root = volume();
    await walk(root);
    fs.chownSync(root, 0, 0);
    fs.chownSync(path.join(root, 'b/c/x'), 0, 0);
    expect(await walk(root)).toMatchObject({ changed: 2, alreadyRight: 11, skippedByRootCheck: false });
    expect(owner(path.join(root, 'b/c/x'))).toBe('100000:100000');
  });

  it('drift below a right root: the sample sees it, fullScan always fixes it', async () => {
    const root = volume();
    await walk(root);
    const drifted = path.join(root, 'b/c/x');
    fs.chownSync(drifted, 0, 0);
    // trusting the root alone (no sample) misses it: the reason for the sample and for fullScan
    expect(await walk(root, { sampleSize: 0 })).toMatchObject({ skippedByRootCheck: true, changed: 0 });
    expect(owner(drifted)).toBe('0:0');
    expect(await walk(root, { fullScan: true })).toMatchObject({ changed: 1, skippedByRootCheck: false });
    expect(owner(drifted)).toBe('100000:100000');
    // with every entry of a directory drifted, any descent into it is caught by the sample
    for (const name of ['a', 'a/1', 'a/2', 'a/3', 'b', 'b/c', 'b/c/x', 'b/c/y', 'b/d', 'empty', 'f', 'g']) fs.chownSync(path.join(root, name), 0, 0);
    expect(await walk(root, { sampleSize: 8 })).toMatchObject({ skippedByRootCheck: false, changed: 12 });
  });

  it('resumes from a cursor: right directories before it are not entered again, counts stay exact', async () => {
    const root = volume();
    const last = await stoppedAt(root, 'b/c/x');
    expect(last).toMatchObject({ phase: 'walk', cursor: ['b', 'c', 'x'], counts: { changed: 5 } });
    // a/ was finished (post-order) and is right: a walk that entered it again would change a/1 back
    fs.chownSync(path.join(root, 'a/1'), 0, 0);
    const resumed = await walk(root, { resumeFrom: last });
    expect(owner(path.join(root, 'a/1'))).toBe('0:0');
    for (const p of ['b/c/y', 'b/c', 'b/d', 'b', 'empty', 'f', 'g', '.']) expect(owner(path.join(root, p))).toBe('100000:100000');
    // counts continue from the heartbeat: the two runs together saw every entry once (re-checks not counted)
    expect(resumed).toMatchObject({ entries: 13, changed: 13, alreadyRight: 0, refusedCount: 0 });
  });

  it('drift (attack 9): a resume finds entries created behind the cursor, wrong directories before it are walked', async () => {
    const root = volume();
    const last = await stoppedAt(root, 'b/c/y');
    // created after the kill, before the cursor, in each directory on the cursor path
    const behind = ['0-new', 'b/0-new', 'b/c/w', 'b/c/x-new', '0-dir/inner'];
    makeTree(root, behind);
    const resumed = await walk(root, { resumeFrom: last });
    for (const p of [...behind, '0-dir']) expect(owner(path.join(root, p))).toBe('100000:100000');
    expect(resumed).toMatchObject({ entries: 13 + 6, changed: 13 + 6, refusedCount: 0, rootLeft: false });
    // and the volume has converged: a full scan finds nothing to change
    expect(await walk(root, { fullScan: true })).toMatchObject({ changed: 0, entries: 19 });
  });

  it('drift (attack 9): the root check descends to any depth within maxDepth', async () => {
    const root = path.join(scratchDir('walk-deep-drift'), 'vol');
    const chain = Array.from({ length: 100 }, (_, i) => `d${i}`).join('/');
    makeTree(root, [`${chain}/wrong`]);
    execFileSync('chown', ['-R', '100000:100000', root]);
    fs.chownSync(path.join(root, chain, 'wrong'), 0, 0);
    // one wrong file 101 levels down (the old descents stopped at 64)
    const result = await walk(root, { sampleSize: 4 });
    expect(result).toMatchObject({ skippedByRootCheck: false, changed: 1 });
    expect(owner(path.join(root, chain, 'wrong'))).toBe('100000:100000');
  });

  it('drift (attack 9): entries deeper than maxDepth are refused and the root is left, so later runs look again', async () => {
    const root = path.join(scratchDir('walk-too-deep'), 'vol');
    makeTree(root, ['l1/l2/l3/l4/l5/l6/file', 'top']);
    const result = await walk(root, { maxDepth: 3 });
    expect(result).toMatchObject({ refusedCount: 1, rootLeft: true });
    expect(result.refused).toEqual([{ path: path.join(root, 'l1/l2/l3'), reason: expect.stringMatching(/deeper than 3 levels/) }]);
    expect(owner(root)).toBe('0:0');
    expect(owner(path.join(root, 'top'))).toBe('100000:100000');
    expect(owner(path.join(root, 'l1/l2/l3/l4/l5/l6/file'))).toBe('0:0');
    expect(await walk(root, { maxDepth: 3 })).toMatchObject({ skippedByRootCheck: false, rootLeft: true });
  });

  it('reports on time as well as on count, so a slow store still heartbeats', async () => {
    const root = path.join(scratchDir('walk-interval'), 'vol');
    makeTree(
      root,
      Array.from({ length: 5000 }, (_, i) => `d${i % 5}/f${String(i).padStart(4, '0')}`),
    );
    const reports: WalkProgress[] = [];
    // A count no tree here reaches: every report below came from the clock.
    const result = await walk(root, { progressEvery: 1e9, progressIntervalMs: 1, onProgress: (p) => void reports.push(p) });
    expect(result.changed).toBe(5006);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    // a report from the clock may come while a directory is read, with no entry finished since the last one
    for (const [i, report] of reports.entries()) if (i > 0) expect(report.counts.entries).toBeGreaterThanOrEqual(reports[i - 1].counts.entries);
    expect(reports[reports.length - 1].counts.entries).toBeGreaterThan(reports[0].counts.entries);
    const byCount: WalkProgress[] = [];
    await walk(root, { fullScan: true, progressEvery: 1e9, progressIntervalMs: 0, onProgress: (p) => void byCount.push(p) }, { uid: 0, gid: 0 });
    expect(byCount).toEqual([]);
  });

  it('stops at the next report when the signal aborts, and holds no descriptor afterwards', async () => {
    const root = volume();
    const controller = new AbortController();
    const fdsBefore = fs.readdirSync('/proc/self/fd').length;
    await expect(
      walk(root, {
        progressEvery: 1,
        signal: controller.signal,
        onProgress: (p) => void (p.cursor.join('/') === 'a/2' && controller.abort(new Error('cancelled by the server'))),
      }),
    ).rejects.toThrow('cancelled by the server');
    expect(owner(path.join(root, 'a/3'))).toBe('0:0');
    expect(fs.readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fdsBefore);
    expect(helperPid()).toBeUndefined();
  });

  it('handles names that are not UTF-8 and names with spaces and newlines', async () => {
    const root = volume();
    const raw = Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x66, 0xff, 0xfe])]);
    fs.writeFileSync(raw, 'x');
    fs.writeFileSync(path.join(root, 'a b\nc'), 'x');
    const result = await walk(root);
    expect(result.changed).toBe(15);
    expect(fs.lstatSync(raw).uid).toBe(100000);
  });

  it('memory (item 8): a directory of 100k long names is read in windows; the process that walks stays small', () => {
    const root = path.join(scratchDir('walk-wide'), 'vol');
    // tmpfs: 100k files are made in seconds, and gone with the unmount
    fs.mkdirSync(root);
    mount(['-t', 'tmpfs', '-o', 'size=1g,mode=755', 'tmpfs', root]);
    const long = 'n'.repeat(190);
    try {
      // ~20 MB of names: an engine that held the whole listing would grow by more than that
      touchMany(root, 100_000, (i) => `${long}${String(i).padStart(6, '0')}`);
      // In its own process, which only walks: the jest worker's heap is no place to measure 20 MB in
      const run = spawnSync(process.execPath, ['--expose-gc', '-e', MEASURED_WALK, REGISTER_TS, WALK_MODULE, root, engine, '10000'], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const measured = JSON.parse(run.stdout) as { entries: number; changed: number; peakKB: number; measured: number };
      expect(measured).toMatchObject({ entries: 100_001, changed: 100_001 });
      expect(measured.measured).toBeGreaterThanOrEqual(10);
      // a window is 10k names (~2 MB); the whole listing would be ~20 MB
      expect(measured.peakKB).toBeLessThan(8 * 1024);
    } finally {
      unmount(root);
    }
  }, 300_000);
});
