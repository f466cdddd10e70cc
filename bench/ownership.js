'use strict';
/**
 * bench/ownership: sharemount's ownership walk (native helper and Node walk) against coreutils `chown -R`,
 * on the same tree in the same run: cold, unchanged (root check + sample, and fullScan), 1% drifted.
 * Usage: node bench/ownership.js [--full] [--sizes=10000,100000]
 */
const fs = require('node:fs');
const path = require('node:path');
const { buildC, ensureDist, walkHelper, scratch, timed, fmt, table } = require('./lib');

const TARGET = '100000:100000';
const CHILD = path.join(__dirname, 'walk-child.js');


function walkRss(root, engine, mode, helper) {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, CHILD, root, engine, mode], {
    env: { ...process.env, SHAREMOUNT_WALK_HELPER: helper },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`walk failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.toString().trim().split('\n').pop());
  out.maxRssKB = Number(/maxrss=(\d+)/.exec(r.stderr.toString())[1]);
  return out;
}

/** Gives every f0042 (one file in a hundred) back to root: 1% drift. */
function drift(root) {
  let n = 0;
  for (const g of fs.readdirSync(root)) {
    for (const d of fs.readdirSync(path.join(root, g))) {
      const file = path.join(root, g, d, 'f0042');
      try {
        fs.lchownSync(file, 0, 0);
        n++;
      } catch {
        // a small last directory
      }
    }
  }
  return n;
}

async function runOwnership({ full = false, sizes } = {}) {
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
      const entries = Number(built.stdout.trim());
      console.log(`\nownership: ${fmt.n(entries)} entries (tree built in ${fmt.s(built.wall)})`);
      const reset = () => timed('chown', ['-R', '0:0', root]);
      const chown = () => timed('chown', ['-R', TARGET, root]).wall;
      const f = { size: entries };
      f.chownCold = chown();
      f.chownAgain = chown();
      for (const engine of ['native', 'node']) {
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
      const rows = [['measure', 'wall', 'entries/s', 'vs chown -R', 'peak RSS', 'changed']];
      rows.push(['chown -R cold', fmt.s(f.chownCold), rate(f.chownCold), '1.00×', '', '']);
      rows.push(['chown -R unchanged', fmt.s(f.chownAgain), rate(f.chownAgain), '1.00×', '', '']);
      for (const engine of ['native', 'node']) {
        const e = f[engine];
        const row = (label, r, base) => [`${engine} ${label}`, fmt.s(r.wall), rate(r.wall), fmt.x(base / r.wall), fmt.mb(r.maxRssKB), fmt.n(r.counts.changed)];
        rows.push(row('cold', e.cold, f.chownCold));
        rows.push(row('unchanged (root check + sample)', e.again, f.chownAgain));
        rows.push(row('unchanged fullScan', e.againFull, f.chownAgain));
        rows.push(row(`1% drift fullScan (${fmt.n(e.drifted)} files)`, e.drift1, f.chownAgain));
      }
      table(rows);
      console.log('  (vs chown -R: how many times faster than chown -R on the same tree; above 1 is faster. "rate" counts entries walked, so the root-check run is per tree, not per entry.)');
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  }
  return figures;
}

module.exports = { runOwnership };
if (require.main === module) {
  const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
  runOwnership({ full: process.argv.includes('--full'), sizes: sizesArg && sizesArg.slice(8).split(',').map(Number) }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
