'use strict';
/**
 * bench/ownership: sharemount's ownership walk (native helper and Node engine) against coreutils `chown -R`,
 * on the same tree in the same run: cold, unchanged (root check + sample, and fullScan), 1% drifted. Then the
 * memory case: one directory of a million entries, with the peak RSS of the process that walks (the helper
 * for native, Node for node) beside chown -R's. And the idmap strategy (bench/idmap-apply.js) on the same tree,
 * already owned by the disk owner, beside chown -R of it.
 * Usage: node bench/ownership.js [--full] [--sizes=10000,100000] [--flat=1000000 (0: none; bench/run.js: --full only)]
 *        [--idmap-only: chown -R and the idmap strategy, no walks, no --flat unless given]
 */
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { buildC, ensureDist, walkHelper, scratch, timed, fmt, table } = require('./lib');
const { measureIdmapApply, PATH_LABEL } = require('./idmap-apply');

const TARGET = '100000:100000';
const CHILD = path.join(__dirname, 'walk-child.js');

/** Runs argv under /usr/bin/time: its stdout, wall seconds and peak RSS (kB) of that process tree. */
function measured(argv, env = process.env) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', ...argv], { env, maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { wall, stdout: r.stdout.toString(), maxRssKB: Number(/maxrss=(\d+)/.exec(r.stderr.toString())[1]) };
}

/**
 * One walk in its own process (bench/walk-child.js). `walkerRssKB` is the peak of the process that walks:
 * the helper's own VmHWM for native (its driver's Node process is `nodeMaxRssKB`), the Node process for node.
 */
function walkRss(root, engine, mode, helper) {
  const run = measured([process.execPath, CHILD, root, engine, mode], { ...process.env, SHAREMOUNT_WALK_HELPER: helper });
  const out = JSON.parse(run.stdout.trim().split('\n').pop());
  out.walkerRssKB = engine === 'native' ? out.helperMaxRssKB : out.nodeMaxRssKB;
  return out;
}

/** Calls fn on `name` in every leaf directory of a mktree tree (<root>/gNNNN/dNNNN) that has it; how many did. */
function inLeafDirs(root, name, fn) {
  let n = 0;
  for (const g of fs.readdirSync(root)) {
    for (const d of fs.readdirSync(path.join(root, g))) {
      try {
        fn(path.join(root, g, d, name));
        n++;
      } catch {
        // not in this directory (a small last one, or no special there)
      }
    }
  }
  return n;
}

/** Gives every f0042 (one file in a hundred) back to root: 1% drift. */
const drift = (root) => inLeafDirs(root, 'f0042', (file) => fs.lchownSync(file, 0, 0));

/**
 * A million entries in one directory: what the walk holds of a listing (windows of windowSize names) shows
 * in the peak RSS of the process that walks; chown -R (fts) for comparison, on the same directory.
 */
function runFlat(mktree, helper, size) {
  const base = scratch(`flat${size}`);
  const root = path.join(base, 'vol');
  try {
    const built = timed(mktree, [root, String(size), 'flat']);
    const entries = Number(built.stdout.trim());
    console.log(`\nownership, one directory: ${fmt.n(entries)} entries (made in ${fmt.s(built.wall)})`);
    const chown = measured(['chown', '-R', TARGET, root]);
    const rows = [['measure', 'wall', 'walker peak RSS', 'driver (Node) peak RSS', 'changed']];
    rows.push(['chown -R cold', fmt.s(chown.wall), fmt.mb(chown.maxRssKB), '', fmt.n(entries)]);
    const figures = { size: entries, chown: { wall: chown.wall, maxRssKB: chown.maxRssKB } };
    for (const engine of ['native', 'node']) {
      timed('chown', ['-R', '0:0', root]);
      const cold = walkRss(root, engine, 'default', helper);
      const again = walkRss(root, engine, 'default', helper);
      const full = walkRss(root, engine, 'fullScan', helper);
      figures[engine] = { cold, again, full };
      for (const [label, r] of [
        ['cold', cold],
        ['unchanged (root check + sample)', again],
        ['unchanged fullScan', full],
      ]) {
        rows.push([`${engine} ${label}`, fmt.s(r.wall), fmt.mb(r.walkerRssKB), engine === 'native' ? fmt.mb(r.nodeMaxRssKB) : '', fmt.n(r.counts.changed)]);
      }
    }
    table(rows);
    console.log('  (walker: the process that reads the directory and changes owners: the helper for native, Node for node; windows of 65,536 names)');
    return figures;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/**
 * The idmap rows: its apply on the tree (owned by the disk owner since chown -R) and on an empty volume, beside
 * chown -R unchanged (what a bash loop re-runs on this tree), and the part of the apply that reads the tree.
 */
function idmapRows(f) {
  const { path: measured, tree, empty } = f.idmap;
  const rate = (wall) => fmt.x(f.chownAgain / wall);
  const rows = [[`idmap apply, ${measured} path`, fmt.s(tree.wall), '(per tree)', rate(tree.wall), '', '0']];
  rows.push(['idmap apply, empty volume (same run)', fmt.s(empty.wall), '', rate(empty.wall), '', '0']);
  if (measured === 'direct') {
    rows.push(['  of it: pct set ×2', fmt.s(tree.pctSet), '', rate(tree.pctSet), '', '']);
    rows.push(['  of it: root owner check', `${(tree.check * 1e6).toFixed(0)} µs`, '(per tree)', rate(tree.check), '', '0']);
  }
  return rows;
}

async function runOwnership({ full = false, sizes, flat = full ? 1_000_000 : 0, idmapOnly = false } = {}) {
  sizes ??= full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
  ensureDist();
  const mktree = buildC('bench/mktree.c', 'mktree');
  const helper = walkHelper();
  const figures = [];
  for (const size of sizes) {
    const base = scratch(`own${size}`);
    const root = path.join(base, 'vol');
    try {
      const built = timed(mktree, [root, String(size)]);
      // A refused hard link leaves the root wrong, so every later run would walk it all: without them, the
      // unchanged runs show the root check. (The walk's refusals have their own tests.)
      const entries = Number(built.stdout.trim()) - inLeafDirs(root, 'hard', (file) => fs.unlinkSync(file));
      console.log(`\nownership: ${fmt.n(entries)} entries (tree built in ${fmt.s(built.wall)})`);
      const reset = () => timed('chown', ['-R', '0:0', root]);
      const chown = () => timed('chown', ['-R', TARGET, root]).wall;
      const f = { size: entries };
      f.chownCold = chown();
      f.chownAgain = chown();
      f.idmap = await measureIdmapApply(root);
      for (const engine of idmapOnly ? [] : ['native', 'node']) {
        reset();
        const cold = walkRss(root, engine, 'default', helper);
        const again = walkRss(root, engine, 'default', helper);
        const againFull = walkRss(root, engine, 'fullScan', helper);
        const drifted = drift(root);
        const drift1 = walkRss(root, engine, 'fullScan', helper);
        f[engine] = { cold, again, againFull, drift1, drifted };
      }
      figures.push(f);
      const rate = (wall) => `${fmt.n(entries / wall)}/s`;
      const rows = [['measure', 'wall', 'entries/s', 'vs chown -R', 'walker peak RSS', 'changed']];
      rows.push(['chown -R cold', fmt.s(f.chownCold), rate(f.chownCold), '1.00×', '', '']);
      rows.push(['chown -R unchanged', fmt.s(f.chownAgain), rate(f.chownAgain), '1.00×', '', '']);
      rows.push(...idmapRows(f));
      for (const engine of idmapOnly ? [] : ['native', 'node']) {
        const e = f[engine];
        const row = (label, r, base) => [
          `${engine} ${label}`,
          fmt.s(r.wall),
          rate(r.wall),
          fmt.x(base / r.wall),
          fmt.mb(r.walkerRssKB),
          fmt.n(r.counts.changed),
        ];
        rows.push(row('cold', e.cold, f.chownCold));
        rows.push(row('unchanged (root check + sample)', e.again, f.chownAgain));
        rows.push(row('unchanged fullScan', e.againFull, f.chownAgain));
        rows.push(row(`1% drift fullScan (${fmt.n(e.drifted)} files)`, e.drift1, f.chownAgain));
      }
      table(rows);
      console.log(
        '  (vs chown -R: how many times faster than chown -R on the same tree; above 1 is faster. "rate" counts entries walked, so the root-check run is per tree, not per entry.)',
      );
      console.log(
        `  (idmap: measured ${PATH_LABEL[f.idmap.path]}; the best of two runs each, against chown -R unchanged; no entry's owner is changed, checked by ctime)`,
      );
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  }
  if (flat > 0) figures.push({ flat: runFlat(mktree, helper, flat) });
  return figures;
}

module.exports = { runOwnership };
if (require.main === module) {
  const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
  const flatArg = process.argv.find((a) => a.startsWith('--flat='));
  const idmapOnly = process.argv.includes('--idmap-only');
  runOwnership({
    full: process.argv.includes('--full'),
    sizes: sizesArg && sizesArg.slice(8).split(',').map(Number),
    flat: flatArg ? Number(flatArg.slice(7)) : idmapOnly ? 0 : 1_000_000,
    idmapOnly,
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
