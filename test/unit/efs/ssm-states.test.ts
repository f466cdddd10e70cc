/**
 * States moto cannot produce, with mocked AWS clients (aws-sdk-client-mock): a file system that is still
 * creating, an invocation that does not exist yet, throttling, a retried attempt, an unknown instance.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeFileSystemsCommand, EFSClient } from '@aws-sdk/client-efs';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ActivityRuntime, createEfsActivities } from '../../../src/activities/efs';
import { agentReadiness } from '../../../src/domain/efs/agents';
import { commandTimeouts } from '../../../src/domain/efs/commandTimeouts';
import { classifySsmFailure, packageInstallFailure, packageInstallOutput } from '../../../src/domain/efs/results';
import { failureOf } from '../../support/failures';

const INSTANCE = 'i-0123456789abcdef0';
const COMMAND = '11111111-2222-3333-4444-555555555555';

function awsError(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

function fakeRuntime(previous?: unknown): ActivityRuntime & { heartbeats: unknown[] } {
  const heartbeats: unknown[] = [];
  return { heartbeats, heartbeat: (d) => heartbeats.push(d), previousHeartbeat: () => previous, sleep: async () => undefined };
}

function setup(previous?: unknown) {
  const efs = mockClient(EFSClient);
  const ssm = mockClient(SSMClient);
  const runtime = fakeRuntime(previous);
  const activities = createEfsActivities({
    efs: new EFSClient({ region: 'us-east-1' }),
    ec2: new EC2Client({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
    runtime,
    pollIntervalMs: 1,
  });
  return { efs, ssm, runtime, activities };
}

const step = { instanceId: INSTANCE, step: 'ensureGroup' as const, script: 'echo SHAREMOUNT_CHANGED created group' };
const success = {
  Status: 'Success' as const,
  ResponseCode: 0,
  StandardOutputContent: 'SHAREMOUNT_CHANGED created group prism-shared with GID 3000\n',
  StandardErrorContent: '',
};

afterEach(() => {
  mockClient(EFSClient).restore();
  mockClient(SSMClient).restore();
});

describe('mocked AWS states', () => {
  test('mocked: a file system that is creating is polled, with heartbeats, until available', async () => {
    const { efs, runtime, activities } = setup();
    const fs = (state: string) => ({ FileSystems: [{ FileSystemId: 'fs-0abc1234', LifeCycleState: state, CreationToken: 'sharemount-research' } as never] });
    efs.on(DescribeFileSystemsCommand).resolvesOnce(fs('creating')).resolvesOnce(fs('creating')).resolves(fs('available'));
    const result = await activities.awaitFileSystemAvailable({ fileSystemId: 'fs-0abc1234' });
    expect(result.lifeCycleState).toBe('available');
    expect(efs.commandCalls(DescribeFileSystemsCommand)).toHaveLength(3);
    expect(runtime.heartbeats).toEqual([
      { fileSystemId: 'fs-0abc1234', lifeCycleState: 'creating' },
      { fileSystemId: 'fs-0abc1234', lifeCycleState: 'creating' },
    ]);
  });

  test('mocked: a file system in error state fails without retry', async () => {
    const { efs, activities } = setup();
    efs.on(DescribeFileSystemsCommand).resolves({ FileSystems: [{ FileSystemId: 'fs-0abc1234', LifeCycleState: 'error' } as never] });
    const failure = await failureOf(activities.awaitFileSystemAvailable({ fileSystemId: 'fs-0abc1234' }));
    expect(failure.nonRetryable).toBe(true);
  });

  test('mocked: InvocationDoesNotExist right after sending is waited out, then Success is returned', async () => {
    const { ssm, runtime, activities } = setup();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('InvocationDoesNotExist', 400))
      .rejectsOnce(awsError('InvocationDoesNotExist', 400))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves(success);
    const result = await activities.runStepOnInstance(step);
    expect(result).toMatchObject({ commandId: COMMAND, exitCode: 0, changed: ['created group prism-shared with GID 3000'] });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(runtime.heartbeats[0]).toEqual({ commandId: COMMAND, instanceId: INSTANCE, step: 'ensureGroup' });
    expect(runtime.heartbeats).toContainEqual({ commandId: COMMAND, instanceId: INSTANCE, step: 'ensureGroup', status: 'InProgress' });
  });

  test('mocked: ThrottlingException while polling is backed off and the command is polled again', async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('ThrottlingException', 400, 'Rate exceeded'))
      .resolves(success);
    expect((await activities.runStepOnInstance(step)).exitCode).toBe(0);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  test('mocked: ThrottlingException on SendCommand is a retryable failure', async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).rejects(awsError('ThrottlingException', 400, 'Rate exceeded'));
    const failure = await failureOf(activities.runStepOnInstance(step));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('ThrottlingException');
  });

  test('mocked: a retried attempt with the command id in its heartbeat polls that command and never sends again', async () => {
    const { ssm, activities } = setup({ commandId: COMMAND, instanceId: INSTANCE, step: 'ensureGroup', status: 'InProgress' });
    ssm.on(SendCommandCommand).rejects(new Error('must not send'));
    ssm.on(GetCommandInvocationCommand).resolvesOnce({ Status: 'InProgress' }).resolves(success);
    expect((await activities.runStepOnInstance(step)).commandId).toBe(COMMAND);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssm.commandCalls(GetCommandInvocationCommand)[0].args[0].input).toEqual({ CommandId: COMMAND, InstanceId: INSTANCE });
  });

  test("mocked: a previous attempt's command that failed with a retryable exit code is sent again", async () => {
    const { ssm, activities } = setup({ commandId: COMMAND, instanceId: INSTANCE, step: 'ensureGroup' });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'second-command' } });
    ssm
      .on(GetCommandInvocationCommand, { CommandId: COMMAND })
      .resolves({ Status: 'Failed', ResponseCode: 1, StandardErrorContent: 'transient' })
      .on(GetCommandInvocationCommand, { CommandId: 'second-command' })
      .resolves(success);
    expect((await activities.runStepOnInstance(step)).commandId).toBe('second-command');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  test('mocked: a heartbeat from another step is not mistaken for this one', async () => {
    const { ssm, activities } = setup({ commandId: COMMAND, instanceId: INSTANCE, step: 'addUsers' });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'fresh' } });
    ssm.on(GetCommandInvocationCommand).resolves(success);
    expect((await activities.runStepOnInstance(step)).commandId).toBe('fresh');
  });

  test('mocked: InvalidInstanceId fails at once, without retry, with the AWS message', async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).rejects(awsError('InvalidInstanceId', 400, 'Instances [[i-0123456789abcdef0]] not in a valid state for account'));
    const failure = await failureOf(activities.runStepOnInstance(step));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('not in a valid state');
  });

  test('mocked: AccessDeniedException fails without retry; a 503 is retried', async () => {
    const denied = setup();
    denied.ssm.on(SendCommandCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform ssm:SendCommand'));
    expect((await failureOf(denied.activities.runStepOnInstance(step))).nonRetryable).toBe(true);
    denied.ssm.restore();
    const unavailable = setup();
    unavailable.ssm.on(SendCommandCommand).rejects(awsError('ServiceUnavailable', 503));
    expect((await failureOf(unavailable.activities.runStepOnInstance(step))).nonRetryable).toBe(false);
  });

  test("mocked: the script's conflict exit code fails without retry and carries the script's message", async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 65,
      StandardOutputContent: 'SHAREMOUNT_ERROR GID 3000 is already held by group research: choose another --gid, or --group research\n',
      StandardErrorContent: 'sharemount: GID 3000 is already held by group research\n',
    });
    const failure = await failureOf(activities.runStepOnInstance(step));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('script-conflict');
    expect(failure.message).toBe(
      `ensureGroup on ${INSTANCE} failed (exit 65): GID 3000 is already held by group research: choose another --gid, or --group research`,
    );
    expect(failure.details?.[0]).toMatchObject({ exitCode: 65, commandId: COMMAND, status: 'Failed' });
  });

  test('mocked: long output is trimmed to its last 4 KB', async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
    ssm.on(GetCommandInvocationCommand).resolves({ ...success, StandardOutputContent: `${'x'.repeat(23000)}\nSHAREMOUNT_UNCHANGED done\n` });
    const result = await activities.runStepOnInstance(step);
    expect(result.stdout.length).toBeLessThan(4200);
    expect(result.stdout.endsWith('SHAREMOUNT_UNCHANGED done\n')).toBe(true);
    expect(result.unchanged).toEqual(['done']);
  });

  test('mocked: every SendCommand carries the delivery TimeoutSeconds and the executionTimeout parameter', async () => {
    const { ssm, activities } = setup();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
    ssm.on(GetCommandInvocationCommand).resolves(success);
    await activities.runStepOnInstance({ ...step, executionTimeoutSeconds: 900, deliveryTimeoutSeconds: 60 });
    await activities.runStepOnInstance(step);
    const inputs = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => [i.TimeoutSeconds, i.Parameters?.executionTimeout])).toEqual([
      [60, ['900']],
      [120, ['600']],
    ]);
  });

  test("mocked: a previous attempt's command that ended in a 194 reboot request is sent again", async () => {
    const { ssm, activities } = setup({ commandId: COMMAND, instanceId: INSTANCE, step: 'ensureGroup' });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'after-reboot' } });
    ssm
      .on(GetCommandInvocationCommand, { CommandId: COMMAND })
      .resolves({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 194 })
      .on(GetCommandInvocationCommand, { CommandId: 'after-reboot' })
      .resolves(success);
    expect((await activities.runStepOnInstance(step)).commandId).toBe('after-reboot');
  });
});

describe('what the SSM statuses mean (domain: classifySsmFailure, agentReadiness, commandTimeouts, the package output)', () => {
  test.each([
    [{ status: 'TimedOut', statusDetails: 'DeliveryTimedOut', exitCode: -1 }, 'delivery-timed-out', false],
    [{ status: 'TimedOut', statusDetails: 'ExecutionTimedOut', exitCode: 137 }, 'execution-timed-out', false],
    [{ status: 'TimedOut', exitCode: -1 }, 'delivery-timed-out', false],
    [{ status: 'Cancelled', statusDetails: 'Cancelled', exitCode: 137 }, 'cancelled', false],
    [{ status: 'Failed', exitCode: 194 }, 'reboot-requested', true],
    [{ status: 'Failed', exitCode: 137 }, 'script-failed', true],
  ])('%j is %s (retryable: %s)', (failure, kind, retryable) => {
    expect(classifySsmFailure(failure)).toEqual({ kind, retryable });
  });

  test('agentReadiness keeps the order asked and gives each instance that is not ready its own kind', () => {
    const readiness = agentReadiness(
      ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c', 'i-0000000000000000d'],
      [
        { instanceId: 'i-0000000000000000d', pingStatus: 'Online', platformType: 'Linux' },
        { instanceId: 'i-0000000000000000a', pingStatus: 'Inactive', platformType: 'Linux' },
        { instanceId: 'i-0000000000000000c', pingStatus: 'Online', platformType: 'Windows', platformName: 'Microsoft Windows Server 2022 Datacenter' },
      ],
    );
    expect(readiness.ready).toEqual(['i-0000000000000000d']);
    expect(readiness.notReady.map((n) => n.kind)).toEqual(['AgentOffline', 'AgentNotRegistered', 'PlatformNotLinux']);
  });

  test('commandTimeouts refuses what the agent would silently replace, naming the field and the range', () => {
    expect(commandTimeouts()).toEqual({ deliveryTimeoutSeconds: 120, executionTimeoutSeconds: 600 });
    expect(() => commandTimeouts({ executionTimeoutSeconds: 200000 })).toThrow(
      'executionTimeoutSeconds: 200000 is not a whole number of seconds from 5 to 172800',
    );
    expect(() => commandTimeouts({ deliveryTimeoutSeconds: 1.5 })).toThrow('deliveryTimeoutSeconds: 1.5');
  });

  test('the package output: installed, already installed, and the two failures the configurepackage plugin reports', () => {
    expect(packageInstallOutput('AmazonEFSUtils', 'Initiating AmazonEFSUtils 2.3.1 install\nSuccessfully installed AmazonEFSUtils 2.3.1')).toEqual({
      changed: ['installed AmazonEFSUtils'],
      unchanged: [],
    });
    expect(packageInstallOutput('AmazonEFSUtils', 'AmazonEFSUtils 2.3.1 is already installed')).toEqual({
      changed: [],
      unchanged: ['AmazonEFSUtils is already installed'],
    });
    expect(packageInstallFailure('AmazonEFSUtils', 'Error returned for GetManifest - AccessDeniedException: ... is not authorized')?.kind).toBe(
      'package-access-denied',
    );
    expect(packageInstallFailure('AmazonEFSUtils', 'failed to download installation package reliably, https://s3...')?.kind).toBe('package-unreachable');
    expect(packageInstallFailure('AmazonEFSUtils', 'something else')).toBeUndefined();
  });
});
