'use strict';
/**
 * bench/resume: SIGKILL the worker (a real child process) halfway through an ownership walk, start a new one,
 * and count the entries walked again by the retry. The walk heartbeats a cursor every 1,000 entries; what the
 * server has kept of it depends on the worker's heartbeat throttle, so two workers are run: the options
 * sharemount ships (createWorkers, src/worker.ts) and, for comparison, the SDK's default throttle.
 * BENCH_RESUME_THROTTLES=worker,default,1000 picks others (a number: maxHeartbeatThrottleInterval in ms).
 * Usage: node bench/resume.js [--full] [--size=N]
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { buildC, devServer, ensureDist, fmt, scratch, seconds, table, timed, walkHelper } = require('./lib');

function startWorker(address, taskQueue, throttle) {
  const child = spawn(process.execPath, [path.join(__dirname, 'resume-worker.js'), address, taskQueue, throttle], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SHAREMOUNT_WALK_HELPER: walkHelper() },
  });
  const lines = readline.createInterface({ input: child.stdout });
  const state = { child, entries: 0, ready: undefined };
  state.ready = new Promise((resolve) =>
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      const m = /^progress (\d+)/.exec(line);
      if (m) state.entries = Number(m[1]);
    }),
  );
  return state;
}

async function oneRun(address, client, root, total, throttle) {
  const { randomUUID } = require('node:crypto');
  // the shipped worker polls lxc:<node>; the workflow runs its activities on its own queue
  const taskQueue = throttle === 'worker' ? `lxc:bench-${randomUUID().slice(0, 8)}` : `bench-resume-${randomUUID()}`;
  const first = startWorker(address, taskQueue, throttle);
  await first.ready;
  const volume = {
    name: `bench-${randomUUID().slice(0, 8)}`,
    hostPath: root,
    owner: { kind: 'container_root' },
    mounts: [{ ctid: 100, containerPath: '/mnt/bench' }],
  };
  const handle = await client.workflow.start('lxcVolumeWorkflow', {
    taskQueue,
    workflowId: `bench-resume-${volume.name}`,
    args: [{ node: 'bench', volume, fixDrift: false, fullScan: false }],
  });
  while (first.entries < total / 2) {
    if (first.child.exitCode !== null) throw new Error('the worker exited before the walk was halfway');
    await new Promise((r) => setTimeout(r, 2));
  }
  first.child.kill('SIGKILL');
  const killedAt = first.entries;
  const killedTime = process.hrtime.bigint();
  await new Promise((r) => first.child.once('exit', r));
  // a SIGKILLed worker cannot remove its private copy of the workflow bundle (bench/lib.js)
  fs.rmSync(path.join(require('node:os').tmpdir(), `sharemount-bench-bundle-${first.child.pid}.js`), { force: true });
  const second = startWorker(address, taskQueue, throttle);
  try {
    const result = await handle.result();
    const own = result.ownership;
    // The tree was all wrong: whatever the retry found already right, the killed attempt had done.
    return { throttle, total, killedAt, reWalked: own.alreadyRight, entries: own.entries, changed: own.changed, afterKill: seconds(killedTime) };
  } finally {
    second.child.kill('SIGKILL');
    await new Promise((r) => (second.child.exitCode !== null ? r() : second.child.once('exit', r)));
    fs.rmSync(path.join(require('node:os').tmpdir(), `sharemount-bench-bundle-${second.child.pid}.js`), { force: true });
  }
}

function label(throttle) {
  if (throttle === 'default') return 'SDK default (0.8 × heartbeat timeout)';
  if (throttle === 'worker') return 'shipped worker (src/worker.ts)';
  return `${throttle} ms`;
}

async function runResume({ full = false, size } = {}) {
  size ??= full ? 1_000_000 : 200_000;
  ensureDist();
  const mktree = buildC('bench/mktree.c', 'mktree');
  const { Client, Connection } = require('@temporalio/client');
  const server = await devServer();
  const bases = [];
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const throttles = process.env.BENCH_RESUME_THROTTLES ? process.env.BENCH_RESUME_THROTTLES.split(',') : ['worker', 'default'];
    const trees = throttles.map((t) => {
      const base = scratch(`resume-${t}`);
      bases.push(base);
      const root = path.join(base, 'vol');
      return { root, total: Number(timed(mktree, [root, String(size)]).stdout.trim()) };
    });
    // all at once: each waits out the activity's heartbeat timeout (20 s) before its retry starts
    const figures = await Promise.all(throttles.map((t, i) => oneRun(server.address, client, trees[i].root, trees[i].total, t)));
    await connection.close();
    console.log(`\nresume: SIGKILL of the worker halfway through a ${fmt.n(size)}-entry walk, then a new worker`);
    table([
      ['worker heartbeat throttle', 'killed at', 're-walked', 're-walked %', 'entries in result', 'kill → done'],
      ...figures.map((f) => [
        label(f.throttle),
        fmt.n(f.killedAt),
        fmt.n(f.reWalked),
        `${((100 * f.reWalked) / f.total).toFixed(2)}%`,
        fmt.n(f.entries),
        fmt.s(f.afterKill),
      ]),
    ]);
    console.log('  (kill → done includes the 20 s heartbeat timeout of the walk, after which the server retries the activity)');
    return figures;
  } finally {
    await server.stop();
    for (const base of bases) fs.rmSync(base, { recursive: true, force: true });
  }
}

module.exports = { runResume };
if (require.main === module) {
  const sizeArg = process.argv.find((a) => a.startsWith('--size='));
  runResume({ full: process.argv.includes('--full'), size: sizeArg && Number(sizeArg.slice(7)) }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
