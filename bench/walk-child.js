'use strict';
// One ownership walk in its own process, so its peak memory can be measured (bench/ownership.js runs it
// under /usr/bin/time). Usage: node bench/walk-child.js <root> <native|node> <default|fullScan>
const path = require('node:path');
// SHAREMOUNT_BENCH_DIST is set by bench/lib.js.
const { walkOwnership } = require(path.join(process.env.SHAREMOUNT_BENCH_DIST, 'host', 'walk', 'nodeEngine'));

const [root, engine, mode] = process.argv.slice(2);
const start = process.hrtime.bigint();
const result = walkOwnership(root, { uid: 100000, gid: 100000 }, { engine, fullScan: mode === 'fullScan' });
const wall = Number(process.hrtime.bigint() - start) / 1e9;
const { refused, ...counts } = result;
process.stdout.write(`${JSON.stringify({ wall, counts, refused: refused.length, nodeMaxRssKB: process.resourceUsage().maxRSS })}\n`);
