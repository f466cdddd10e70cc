'use strict';
// A worker for the benchmarks: the real workflow code (bundled from src/), activities injected by the bench.
const { randomUUID } = require('node:crypto');
const { quietTemporal, workflowBundle } = require('./lib');

/** Runs fn(client, taskQueue) while a worker polls a fresh task queue on `address` with `activities`. */
async function withBenchWorker(address, activities, fn, workerOptions = {}) {
  quietTemporal();
  const { NativeConnection, Worker } = require('@temporalio/worker');
  const { Client, Connection } = require('@temporalio/client');
  const taskQueue = `bench-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: workflowBundle() },
      activities,
      maxConcurrentActivityTaskExecutions: 1000,
      ...workerOptions,
    });
    return await worker.runUntil(fn(new Client({ connection }), taskQueue));
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

function subnets(instanceIds) {
  return instanceIds.map((instanceId) => ({ instanceId, vpcId: 'vpc-1', subnetId: 'subnet-1', availabilityZone: 'us-east-1a', securityGroupIds: ['sg-1'] }));
}

/** Instant stand-ins for the AWS calls that come before the instances (they are not what is measured). */
function fakeAwsActivities() {
  return {
    async ensureFileSystem() {
      return { fileSystemId: 'fs-0123456789abcdef0', created: false };
    },
    async awaitFileSystemAvailable() {
      return {};
    },
    // where the instances live; unknown ones are reported, not fatal
    async locateInstances({ instanceIds }) {
      return { found: subnets(instanceIds), unknown: [] };
    },
    async ensureNfsSecurityGroup() {
      return { securityGroupId: 'sg-nfs', created: false, rulesAdded: false };
    },
    async ensureMountTargets() {
      return { mountTargets: [{ mountTargetId: 'fsmt-1', subnetId: 'subnet-1', availabilityZone: 'us-east-1a', created: false }] };
    },
    async awaitMountTargetsAvailable() {
      return {};
    },
    async checkAgents({ instanceIds }) {
      return { ready: instanceIds, notReady: [] };
    },
  };
}

function stepResult(input, stdout = '') {
  return { instanceId: input.instanceId, step: input.step, commandId: 'local', exitCode: 0, changed: [], unchanged: [], users: [], stdout, stderr: '' };
}

/** The fake AWS activities plus a runStepOnInstance that takes a fixed `stepMs` and changes nothing. */
function fixedStepActivities(stepMs) {
  return {
    ...fakeAwsActivities(),
    async runStepOnInstance(input) {
      await new Promise((r) => setTimeout(r, stepMs));
      return stepResult(input);
    },
  };
}

const AMAZON_LINUX_FACTS = 'SHAREMOUNT_FACT os amzn|2023|fedora\nSHAREMOUNT_FACT user ec2-user 1000 1000\nSHAREMOUNT_FACT mount-efs yes\n';

/**
 * The batched path's stand-in: runStepOnInstances takes the same fixed `stepMs` for its whole batch (the
 * instances of one SendCommand run at once) and counts each call as the one SendCommand it stands for.
 */
function fixedBatchActivities(stepMs, sendCommands) {
  return {
    ...fakeAwsActivities(),
    async runStepOnInstances({ step, instanceIds }) {
      sendCommands.set(step, (sendCommands.get(step) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, stepMs));
      const stdout = step === 'gatherInstanceFacts' ? AMAZON_LINUX_FACTS : '';
      return {
        commandId: 'local',
        ssmCalls: 2,
        instances: instanceIds.map((instanceId) => ({ instanceId, verdict: 'ok', exitCode: 0, changed: [], unchanged: [], users: [], stdout, stderr: '' })),
      };
    },
  };
}

function instanceIds(n, salt) {
  return Array.from({ length: n }, (_, i) => `i-${(salt * 1_000_000 + i).toString(16).padStart(17, '0')}`);
}

module.exports = { withBenchWorker, fakeAwsActivities, fixedStepActivities, fixedBatchActivities, stepResult, instanceIds };
