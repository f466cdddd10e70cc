'use strict';
/**
 * bench/fanout: the real efsMountWorkflow (child workflow per instance, bounded fan-out) on a dev server over
 * N targets whose every remote step (runStepOnInstance) takes a fixed L. Prints wall time in units of one
 * instance's remote time next to a sequential loop over the same instances.
 * Usage: node bench/fanout.js [--full]
 */
const { devServer, fmt, table, seconds } = require('./lib');
const { withBenchWorker, fakeAwsActivities, stepResult, instanceIds } = require('./worker');

async function runFanout({ full = false } = {}) {
  const stepMs = full ? 1000 : 250;
  const counts = process.env.BENCH_FANOUT_N ? process.env.BENCH_FANOUT_N.split(',').map(Number) : full ? [1, 10, 100, 500] : [1, 10, 100];
  const { requireDist } = require('./lib');
  const { EFS_MOUNT_STEPS } = requireDist('domain/efs');
  const steps = EFS_MOUNT_STEPS.length;
  const instanceMs = steps * stepMs;
  const server = await devServer();
  const figures = [];
  try {
    const activities = {
      ...fakeAwsActivities(),
      async runStepOnInstance(input) {
        await new Promise((r) => setTimeout(r, stepMs));
        return stepResult(input);
      },
    };
    await withBenchWorker(server.address, activities, async (client, taskQueue) => {
      for (const [index, n] of counts.entries()) {
        const start = process.hrtime.bigint();
        const result = await client.workflow.execute('efsMountWorkflow', {
          taskQueue,
          workflowId: `bench-fanout-${n}-${Date.now()}`,
          args: [{ volumeName: `bench${index}x${n}`, instanceIds: instanceIds(n, index + 1), concurrency: n }],
        });
        const wall = seconds(start);
        if (!result.ok) throw new Error(`fan-out over ${n} failed: ${JSON.stringify(result.instances.find((i) => !i.ok))}`);
        figures.push({ n, wall, perInstance: wall / (instanceMs / 1000), sequential: (n * instanceMs) / 1000 });
      }
    });
  } finally {
    await server.stop();
  }
  const one = figures[0].wall;
  console.log(`\nfanout: efsMountWorkflow, ${steps} steps per instance, each step ${stepMs} ms (L = one instance = ${instanceMs} ms), concurrency = N`);
  table([
    ['N', 'wall', 'wall / L', 'vs N = 1', 'sequential loop (N × L)', 'speed-up'],
    ...figures.map((f) => [f.n, fmt.s(f.wall), fmt.x(f.perInstance), fmt.x(f.wall / one), fmt.s(f.sequential), fmt.x(f.sequential / f.wall)]),
  ]);
  return { stepMs, instanceMs, figures };
}

module.exports = { runFanout };
if (require.main === module) {
  runFanout({ full: process.argv.includes('--full') }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
