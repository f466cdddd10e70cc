import * as fs from 'node:fs';
import * as path from 'node:path';
import { walkOwnership, type WalkProgress } from '../../src/host/walk/nodeEngine';
import { allPaths, makeTree, owner, scratchDir } from './lxc-support';

const TARGET = { uid: 100000, gid: 100000 };
const TREE = ['a/1', 'a/2', 'a/3', 'b/c/x', 'b/c/y', 'b/d/', 'empty/', 'f', 'g'];

function volume(): string {
  const root = path.join(scratchDir('walk'), 'vol');
  fs.mkdirSync(root);
  makeTree(root, TREE);
  return root;
}

describe('walkOwnership on a real tree', () => {
  it('changes every entry, children before their directory, the root last', () => {
    const root = volume();
    const paths = allPaths(root);
    expect(paths).toHaveLength(13);
    const cursors: string[] = [];
    const result = walkOwnership(root, TARGET, { progressEvery: 1, onProgress: (p) => cursors.push(p.cursor.join('/')) });
    expect(result).toMatchObject({ entries: 13, changed: 13, alreadyRight: 0, refusedCount: 0, skippedByRootCheck: false });
    for (const p of paths) expect(owner(p)).toBe('100000:100000');
    // deterministic post-order: sorted names, each directory right after its last child
    expect(cursors).toEqual(['a/1', 'a/2', 'a/3', 'a', 'b/c/x', 'b/c/y', 'b/c', 'b/d', 'b', 'empty', 'f', 'g']);
    // the kernel's own record of the order: chown sets ctime, so a directory's ctime is not before its children's
    const ctime = (p: string) => fs.lstatSync(p, { bigint: true }).ctimeNs;
    for (const p of paths.slice(1)) expect(ctime(root)).toBeGreaterThanOrEqual(ctime(p));
    expect(ctime(path.join(root, 'b'))).toBeGreaterThanOrEqual(ctime(path.join(root, 'b/c/y')));
  });

  it('a second run changes nothing and stops at the root check', () => {
    const root = volume();
    walkOwnership(root, TARGET);
    const again = walkOwnership(root, TARGET);
    expect(again).toMatchObject({ changed: 0, skippedByRootCheck: true, entries: 1 });
    const full = walkOwnership(root, TARGET, { fullScan: true });
    expect(full).toMatchObject({ changed: 0, alreadyRight: 13, entries: 13, skippedByRootCheck: false });
  });

  it('skips only what is right: a wrong root means a walk even without fullScan', () => {
    const root = volume();
    walkOwnership(root, TARGET);
    fs.chownSync(root, 0, 0);
    fs.chownSync(path.join(root, 'b/c/x'), 0, 0);
    expect(walkOwnership(root, TARGET)).toMatchObject({ changed: 2, alreadyRight: 11, skippedByRootCheck: false });
    expect(owner(path.join(root, 'b/c/x'))).toBe('100000:100000');
  });

  it('drift below a right root: the sample sees it, fullScan always fixes it', () => {
    const root = volume();
    walkOwnership(root, TARGET);
    const drifted = path.join(root, 'b/c/x');
    fs.chownSync(drifted, 0, 0);
    // trusting the root alone (no sample) misses it: the reason for the sample and for fullScan
    expect(walkOwnership(root, TARGET, { sampleSize: 0 })).toMatchObject({ skippedByRootCheck: true, changed: 0 });
    expect(owner(drifted)).toBe('0:0');
    expect(walkOwnership(root, TARGET, { fullScan: true })).toMatchObject({ changed: 1, skippedByRootCheck: false });
    expect(owner(drifted)).toBe('100000:100000');
    // with every entry of a directory drifted, any descent into it is caught by the sample
    for (const name of ['a', 'a/1', 'a/2', 'a/3', 'b', 'b/c', 'b/c/x', 'b/c/y', 'b/d', 'empty', 'f', 'g']) fs.chownSync(path.join(root, name), 0, 0);
    expect(walkOwnership(root, TARGET, { sampleSize: 8 })).toMatchObject({ skippedByRootCheck: false, changed: 12 });
  });

  it('resumes from a cursor without visiting finished entries again', () => {
    const root = volume();
    let last: WalkProgress | undefined;
    expect(() =>
      walkOwnership(root, TARGET, {
        progressEvery: 1,
        onProgress: (p) => {
          last = p;
          if (p.cursor.join('/') === 'b/c/x') throw new Error('worker died');
        },
      }),
    ).toThrow('worker died');
    expect(last!.cursor).toEqual(['b', 'c', 'x']);
    expect(last!.counts.changed).toBe(5);
    // mark what was finished: a walk that visited it again would change it back
    const finished = ['a/1', 'a/2', 'a/3', 'a', 'b/c/x'].map((p) => path.join(root, p));
    for (const p of finished) fs.chownSync(p, 0, 0);
    const resumed = walkOwnership(root, TARGET, { resumeFrom: last });
    for (const p of finished) expect(owner(p)).toBe('0:0');
    for (const p of ['b/c/y', 'b/c', 'b/d', 'b', 'empty', 'f', 'g', '.']) expect(owner(path.join(root, p))).toBe('100000:100000');
    // counts continue from the heartbeat: the two runs together saw every entry once
    expect(resumed).toMatchObject({ entries: 13, changed: 13 });
  });

  it.each(['native', 'node'] as const)('%s: reports on time as well as on count, so a slow store still heartbeats', (engine) => {
    const root = path.join(scratchDir('walk-interval'), 'vol');
    makeTree(root, Array.from({ length: 5000 }, (_, i) => `d${i % 5}/f${String(i).padStart(4, '0')}`));
    const reports: WalkProgress[] = [];
    // A count no tree here reaches: every report below came from the clock.
    const result = walkOwnership(root, TARGET, { engine, progressEvery: 1e9, progressIntervalMs: 1, onProgress: (p) => reports.push(p) });
    expect(result.changed).toBe(5006);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const [i, report] of reports.entries()) if (i > 0) expect(report.counts.entries).toBeGreaterThan(reports[i - 1].counts.entries);
    const byCount: WalkProgress[] = [];
    walkOwnership(root, { uid: 0, gid: 0 }, { engine, fullScan: true, progressEvery: 1e9, progressIntervalMs: 0, onProgress: (p) => byCount.push(p) });
    expect(byCount).toEqual([]);
  });

  it('handles names that are not UTF-8 and names with spaces and newlines', () => {
    const root = volume();
    const raw = Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x66, 0xff, 0xfe])]);
    fs.writeFileSync(raw, 'x');
    fs.writeFileSync(path.join(root, 'a b\nc'), 'x');
    const result = walkOwnership(root, TARGET);
    expect(result.changed).toBe(15);
    expect(fs.lstatSync(raw).uid).toBe(100000);
  });

  it('streams: memory stays flat over many files', () => {
    const root = path.join(scratchDir('walk-wide'), 'vol');
    fs.mkdirSync(root);
    for (let d = 0; d < 40; d++) {
      fs.mkdirSync(path.join(root, `d${d}`));
      for (let f = 0; f < 500; f++) fs.writeFileSync(path.join(root, `d${d}`, `f${f}`), '');
    }
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const result = walkOwnership(root, TARGET, { progressEvery: 500, onProgress: () => (peak = Math.max(peak, process.memoryUsage().heapUsed)) });
    expect(result).toMatchObject({ entries: 20041, changed: 20041 });
    // 20k entries; a walk that kept per-entry state would grow by several MB
    expect(peak - before).toBeLessThan(16 * 1024 * 1024);
  });
});
