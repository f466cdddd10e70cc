'use strict';
// One ownership walk in its own process, so its peak memory can be measured (bench/ownership.js runs it
// under /usr/bin/time, which sees this process, not the native helper it starts). Usage:
// node bench/walk-child.js <root> <native|node> <default|fullScan> [windowSize]
// Prints one JSON line: wall, counts, refused, nodeMaxRssKB (this process), helperMaxRssKB (native: the
// helper's VmHWM, read at each report while it waits for the answer; the default report interval, as in the
// activity).
const fs = require('node:fs');
const path = require('node:path');
// SHAREMOUNT_BENCH_DIST is set by bench/lib.js.
const { walkOwnership } = require(path.join(process.env.SHAREMOUNT_BENCH_DIST, 'host', 'walk'));

let helperPid;

/** VmHWM (kB) of this process's live sharemount-walk child, 0 when there is none. */
function helperPeakKB() {
  // Found once, then read directly: a scan of /proc at every report cost ~26 ms each on a loaded machine.
  helperPid ??= findHelperPid();
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${helperPid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    helperPid = undefined; // exited meanwhile
    return 0;
  }
}

function findHelperPid() {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z' && stat.slice(stat.indexOf('(') + 1, close) === 'sharemount-walk') return entry;
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

async function main() {
  const [root, engine, mode, windowSize] = process.argv.slice(2);
  let helperMaxRssKB = 0;
  const start = process.hrtime.bigint();
  const result = await walkOwnership(
    root,
    { uid: 100000, gid: 100000 },
    {
      engine,
      fullScan: mode === 'fullScan',
      windowSize: windowSize ? Number(windowSize) : undefined,
      onProgress: engine === 'native' ? () => void (helperMaxRssKB = Math.max(helperMaxRssKB, helperPeakKB())) : undefined,
    },
  );
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const { refused, ...counts } = result;
  const figures = { wall, counts, refused: refused.length, nodeMaxRssKB: process.resourceUsage().maxRSS };
  if (engine === 'native') figures.helperMaxRssKB = helperMaxRssKB;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
