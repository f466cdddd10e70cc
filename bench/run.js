#!/usr/bin/env node
'use strict';
/**
 * npm run bench: a quick version of all four benchmarks (ownership 10k + 100k, fan-out 1/10/100, overhead,
 * resume at 200k); --full runs the full sizes (ownership up to 1M, fan-out up to 500, resume at 1M).
 * --only=ownership,fanout,overhead,resume picks some. Figures are printed, and written as JSON with --json=FILE.
 */
const fs = require('node:fs');
const { ensureDist, machine, seconds } = require('./lib');

async function main() {
  const full = process.argv.includes('--full');
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const jsonFile = process.argv.find((a) => a.startsWith('--json='))?.slice(7);
  const want = (name) => !only || only.includes(name);
  const start = process.hrtime.bigint();
  const info = machine();
  console.log(
    `sharemount benchmarks (${full ? 'full' : 'quick'}): ${info.nproc} CPUs (${info.cpu}), ${info.memoryGB} GB, Linux ${info.kernel}, /tmp on ${info.tmpFs}, Node ${info.node}, load ${info.load}`,
  );
  ensureDist(!process.argv.includes('--no-build'));
  const figures = { machine: info, mode: full ? 'full' : 'quick' };
  if (want('ownership')) figures.ownership = await require('./ownership').runOwnership({ full });
  if (want('fanout')) figures.fanout = await require('./fanout').runFanout({ full });
  if (want('overhead')) figures.overhead = await require('./overhead').runOverhead({ full });
  if (want('resume')) figures.resume = await require('./resume').runResume({ full });
  figures.seconds = seconds(start);
  console.log(`\nbench: done in ${figures.seconds.toFixed(0)} s`);
  if (jsonFile) fs.writeFileSync(jsonFile, `${JSON.stringify(figures, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
