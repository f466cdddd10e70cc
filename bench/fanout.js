'use strict';
/**
 * bench/fanout: the real efsMountWorkflow (child workflow per instance, bounded fan-out) on a dev server over
 * N targets whose every remote step (runStepOnInstance) takes a fixed L. Prints wall time in units of one
 * instance's remote time next to a sequential loop over the same instances.
 * Each N prints its row as soon as it ends (a partial run still records figures). A fan-out that has not ended
 * after BENCH_FANOUT_TIMEOUT_S (default 10 × L + 60 s) is terminated and reported as such instead of hanging
 * (e.g. a workflow task the server refuses, which the SDK retries for ever).
 * With --batched (or BENCH_FANOUT_BATCHED=1) the run uses batched SSM (batchSsm: one runStepOnInstances per step
 * for up to 50 instances, each standing for one SendCommand, counted per step and checked against ceil(N / 50)).
 * Usage: node bench/fanout.js [--full] [--batched]   BENCH_FANOUT_N=1,10,100,500   BENCH_FANOUT_CONCURRENCY=N (default: N)
 *        BENCH_FANOUT_L_MS=7000 (one instance's remote time, split evenly over its steps)
 */
const { devServer, fmt, table, seconds } = require('./lib');
const { withBenchWorker, fixedStepActivities, fixedBatchActivities, instanceIds } = require('./worker');

async function runFanout({ full = false, batched = false } = {}) {
  const counts = process.env.BENCH_FANOUT_N ? process.env.BENCH_FANOUT_N.split(',').map(Number) : full ? [1, 10, 100, 500] : [1, 10, 100];
  const { requireDist } = require('./lib');
  const { EFS_MOUNT_STEPS } = requireDist('domain/efs/steps');
  const steps = EFS_MOUNT_STEPS.length;
  const stepMs = process.env.BENCH_FANOUT_L_MS ? Math.round(Number(process.env.BENCH_FANOUT_L_MS) / steps) : full ? 1000 : 250;
  const instanceMs = steps * stepMs;
  const sendCommands = new Map();
  const timeoutS = Number(process.env.BENCH_FANOUT_TIMEOUT_S) || (10 * instanceMs) / 1000 + 60;
  const server = await devServer();
  const figures = [];
  try {
    const activities = batched ? fixedBatchActivities(stepMs, sendCommands) : fixedStepActivities(stepMs);
    const mode = batched ? 'batched SSM (batchSsm)' : 'a child per instance';
    await withBenchWorker(server.address, activities, async (client, taskQueue) => {
      console.log(`\nfanout: efsMountWorkflow, ${mode}, ${steps} steps per instance, each step ${stepMs} ms (L = one instance = ${instanceMs} ms)`);
      for (const [index, n] of counts.entries()) {
        const concurrency = Number(process.env.BENCH_FANOUT_CONCURRENCY) || n;
        sendCommands.clear();
        const start = process.hrtime.bigint();
        const handle = await client.workflow.start('efsMountWorkflow', {
          taskQueue,
          workflowId: `bench-fanout-${n}-${Date.now()}`,
          args: [{ volumeName: `bench${index}x${n}`, instanceIds: instanceIds(n, index + 1), concurrency, ...(batched ? { batchSsm: true } : {}) }],
        });
        let timer;
        const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutS * 1000)));
        const pending = handle.result();
        const result = await Promise.race([pending, timedOut]).finally(() => clearTimeout(timer));
        const wall = seconds(start);
        if (result === 'timeout') {
          await handle.terminate('bench timeout');
          await pending.catch(() => undefined); // settle the long poll before the connection closes
          console.log(`  N = ${n} (concurrency ${concurrency}): not done after ${timeoutS} s, terminated`);
          figures.push({ n, concurrency, timedOut: true, wall });
          continue;
        }
        if (!result.ok) throw new Error(`fan-out over ${n} failed: ${JSON.stringify(result.instances.find((i) => !i.ok))}`);
        const perStep = Math.max(0, ...sendCommands.values());
        const f = { n, concurrency, wall, perInstance: wall / (instanceMs / 1000), sequential: (n * instanceMs) / 1000, perStep };
        figures.push(f);
        const calls = batched ? `; SendCommand per step ${perStep} (ceil(N/50) = ${Math.ceil(n / 50)})` : '';
        console.log(`  N = ${n} (concurrency ${concurrency}): ${fmt.s(wall)} = ${fmt.x(f.perInstance)} L (sequential loop ${fmt.s(f.sequential)})${calls}`);
        if (batched && perStep > Math.ceil(n / 50)) throw new Error(`N = ${n}: ${perStep} SendCommand calls in one step, more than ceil(N / 50)`);
      }
    });
  } finally {
    await server.stop();
  }
  const one = figures[0].wall;
  console.log(
    `\nfanout: efsMountWorkflow, ${batched ? 'batched SSM' : 'a child per instance'}, ${steps} steps per instance, each step ${stepMs} ms (L = one instance = ${instanceMs} ms)`,
  );
  table([
    ['N', 'concurrency', 'wall', 'wall / L', 'vs N = 1', 'sequential loop (N × L)', 'speed-up', 'SendCommand per step'],
    ...figures.map((f) =>
      f.timedOut
        ? [f.n, f.concurrency, `> ${timeoutS} s (terminated)`, '', '', fmt.s((f.n * instanceMs) / 1000), '', '']
        : [
            f.n,
            f.concurrency,
            fmt.s(f.wall),
            fmt.x(f.perInstance),
            fmt.x(f.wall / one),
            fmt.s(f.sequential),
            fmt.x(f.sequential / f.wall),
            batched ? `${f.perStep} (≤ ${Math.ceil(f.n / 50)})` : `${f.n} (one per instance)`,
          ],
    ),
  ]);
  return { stepMs, instanceMs, figures };
}

module.exports = { runFanout };
if (require.main === module) {
  runFanout({ full: process.argv.includes('--full'), batched: process.argv.includes('--batched') || process.env.BENCH_FANOUT_BATCHED === '1' }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
