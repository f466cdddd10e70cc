'use strict';
// The worker that bench/resume.js kills: the real applyOwnership activity (native walk when built) and the
// real lxcVolumeWorkflow; the pct-facing activities are stand-ins. Prints "progress <entries>" on each heartbeat.
// Usage: node bench/resume-worker.js <address> <taskQueue> <maxHeartbeatThrottleMs | default | worker>
// "worker": the worker options sharemount ships (createWorkers in src/worker.ts, node = the part of the task
// queue after "lxc:"), so the figure follows whatever throttle src/worker.ts sets.
const path = require('node:path');
const { quietTemporal, workflowBundle, requireDist } = require('./lib');

async function main() {
  const [address, taskQueue, throttle] = process.argv.slice(2);
  quietTemporal();
  const { NativeConnection, Worker } = require('@temporalio/worker');
  const { Context } = require('@temporalio/activity');
  const { createLxcActivities } = requireDist(path.join('activities', 'lxc'));
  const real = createLxcActivities({});
  const activities = {
    async readContainer(ctid) {
      return { ctid, file: `/etc/pve/lxc/${ctid}.conf`, text: 'arch: amd64\nhostname: bench\nunprivileged: 1\n', running: true };
    },
    async readHostUsers() {
      return {};
    },
    async bindMountPoint(input) {
      return { ctid: input.ctid, slot: 0, changed: false, state: 'present', running: true };
    },
    async applyOwnership(input) {
      const context = Context.current();
      const heartbeat = context.heartbeat.bind(context);
      // see each heartbeat the walk sends (what the server keeps of them depends on the throttle)
      context.heartbeat = (details) => {
        process.stdout.write(`progress ${details?.counts?.entries ?? 0}\n`);
        heartbeat(details);
      };
      return real.applyOwnership(input);
    },
  };
  const connection = await NativeConnection.connect({ address });
  if (throttle === 'worker') {
    const { createWorkers } = requireDist('worker');
    const workers = await createWorkers(connection, 'default', { general: false, node: taskQueue.replace(/^lxc:/, ''), activities });
    process.stdout.write('ready\n');
    await Promise.all(workers.map((w) => w.run()));
    return;
  }
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: workflowBundle() },
    activities,
    ...(throttle !== 'default' ? { maxHeartbeatThrottleInterval: Number(throttle) } : {}),
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
