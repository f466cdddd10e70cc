'use strict';
/**
 * bench/overhead: what sharemount adds per step. The same step script run (a) directly with `sh -c` and
 * (b) as steps of the real efsInstanceWorkflow on a dev server, its runStepOnInstance activity running the
 * script locally with `sh -c` (no SSM: the network and the agent's polling are not in this figure).
 * Usage: node bench/overhead.js [--full]
 */
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { devServer, fmt, median, seconds, table } = require('./lib');
const { withBenchWorker, stepResult, instanceIds } = require('./worker');

const run = promisify(execFile);
const SCRIPT = 'set -eu; test -d /tmp; echo "unchanged: bench"';

async function runOverhead({ full = false } = {}) {
  const rounds = full ? 15 : 5;
  const stepsPerWorkflow = 10;
  const direct = [];
  for (let i = 0; i < rounds * stepsPerWorkflow; i++) {
    const start = process.hrtime.bigint();
    await run('sh', ['-c', SCRIPT]);
    direct.push(seconds(start) * 1000);
  }
  const server = await devServer();
  const perStep = [];
  try {
    const activities = {
      async runStepOnInstance(input) {
        const { stdout } = await run('sh', ['-c', input.script]);
        return stepResult(input, stdout);
      },
    };
    await withBenchWorker(server.address, activities, async (client, taskQueue) => {
      const steps = Array.from({ length: stepsPerWorkflow }, (_, i) => ({ step: 'ensureGroup', summary: `bench step ${i}`, script: SCRIPT }));
      for (let r = 0; r < rounds + 1; r++) {
        const [instanceId] = instanceIds(1, 900 + r);
        const start = process.hrtime.bigint();
        await client.workflow.execute('efsInstanceWorkflow', {
          taskQueue,
          workflowId: `bench-overhead-${r}-${Date.now()}`,
          args: [{ volume: 'bench', instanceId, steps }],
        });
        if (r > 0) perStep.push((seconds(start) * 1000) / stepsPerWorkflow); // round 0 warms the worker up
      }
    });
  } finally {
    await server.stop();
  }
  const directMedian = median(direct);
  const stepMedian = median(perStep);
  console.log(`\noverhead: ${stepsPerWorkflow} steps per efsInstanceWorkflow, ${rounds} workflows (after one warm-up), script: ${SCRIPT}`);
  table([
    ['measure', 'median per step'],
    ['sh -c script, directly', fmt.ms(directMedian)],
    ['the same step through workflow + activity', fmt.ms(stepMedian)],
    ['added by sharemount', fmt.ms(stepMedian - directMedian)],
  ]);
  return { directMs: directMedian, stepMs: stepMedian, addedMs: stepMedian - directMedian };
}

module.exports = { runOverhead };
if (require.main === module) {
  runOverhead({ full: process.argv.includes('--full') }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
