'use strict';
/**
 * bench/fanout-profile: where a fan-out's time goes. Runs one efsMountWorkflow over N instances (steps of a
 * fixed time, as bench/fanout) and prints the wall time, the CPU the dev server and this process (the worker)
 * used, and every history event of the parent and its children by type.
 * Usage: node bench/fanout-profile.js [N=100] [stepMs=250]   (after `node bench/run.js --only=none` built dist)
 */
const fs = require('node:fs');
const { devServer, ensureDist, requireDist, seconds } = require('./lib');
const { withBenchWorker, fixedStepActivities, instanceIds } = require('./worker');

/** EVENT_TYPE_… names from the SDK's protos (a dependency of @temporalio/client), else the numbers. */
function eventTypeName(type) {
  try {
    const name = require('@temporalio/proto').temporal.api.enums.v1.EventType[type];
    return name ? name.replace(/^EVENT_TYPE_/, '') : String(type);
  } catch {
    return String(type);
  }
}

/** User + system CPU seconds of a process so far, from /proc (clock ticks are 100 Hz on Linux). */
function cpuOf(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main() {
  const n = Number(process.argv[2]) || 100;
  const stepMs = Number(process.argv[3]) || 250;
  ensureDist();
  const { efsInstanceWorkflowId } = requireDist('domain/workflowIds');
  const server = await devServer();
  try {
    const activities = fixedStepActivities(stepMs);
    await withBenchWorker(server.address, activities, async (client, taskQueue) => {
      const ids = instanceIds(n, 1);
      const serverBefore = cpuOf(server.process.pid);
      const workerBefore = process.cpuUsage();
      const start = process.hrtime.bigint();
      const handle = await client.workflow.start('efsMountWorkflow', {
        taskQueue,
        workflowId: `bench-profile-${n}-${Date.now()}`,
        args: [{ volumeName: 'profile', instanceIds: ids, concurrency: n }],
      });
      const result = await handle.result();
      const wall = seconds(start);
      const serverCpu = cpuOf(server.process.pid) - serverBefore;
      const worker = process.cpuUsage(workerBefore);
      if (!result.ok) throw new Error('the fan-out failed');
      const counts = new Map();
      let total = 0;
      for (const [index, id] of [handle.workflowId, ...ids.map((i) => efsInstanceWorkflowId('profile', i))].entries()) {
        const { events } = await client.workflow.getHandle(id).fetchHistory();
        for (const event of events ?? []) {
          const key = `${index === 0 ? 'parent' : 'children'} ${eventTypeName(event.eventType)}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          total++;
        }
      }
      console.log(
        `fanout-profile: N = ${n}, ${stepMs} ms steps: wall ${wall.toFixed(2)} s, dev server CPU ${serverCpu.toFixed(2)} s, worker CPU ${((worker.user + worker.system) / 1e6).toFixed(2)} s`,
      );
      console.log(`history events: ${total}`);
      for (const [key, count] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(6)}  ${key}`);
    });
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
