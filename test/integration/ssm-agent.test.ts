/**
 * The SSM agent emulator behaves as amazon-ssm-agent does, and sharemount's SSM side reads it right: the agent
 * is asked first (DescribeInstanceInformation, which moto lacks: the emulator answers it), every command carries
 * its two timeouts, and a script runs as the agent runs it (working directory, environment, `sh -c` on
 * `_script.sh`, the execution timeout's process-group kill, 194 reboots, output truncation, the statuses on the
 * way). The Distributor route installs the stand-in amazon-efs-utils. All on the real moto + the emulator.
 */
import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { createEfsActivities, EfsActivities, plainRuntime } from '../../src/activities/efs';
import { createFakeEfs, createInstanceSandbox, destroyAllSandboxes, FakeEfs, InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { SsmAgentEmulator, startSsmAgentEmulator } from '../../src/sandbox/ssmAgentEmulator';
import { failureOf } from '../support/failures';
import { describeNeeding, needs } from '../support/requires';

const MS_PER_SECOND = 100; // the emulator's timeouts run ten times faster; their rules do not change

describeNeeding([needs.rootNamespaces()], 'the SSM agent as it really behaves, on moto + the emulator', () => {
  let moto: MotoServer;
  let emulator: SsmAgentEmulator;
  let efs: FakeEfs;
  let clients: ReturnType<typeof motoClients>;
  let activities: EfsActivities;
  let ids: string[];
  let linux: InstanceSandbox;
  let bare: InstanceSandbox;
  let windows: InstanceSandbox;
  let denied: InstanceSandbox;
  let unreachable: InstanceSandbox;
  let stopped: InstanceSandbox;

  beforeAll(async () => {
    moto = await startMoto();
    emulator = await startSsmAgentEmulator({ motoEndpoint: moto.endpoint, invisiblePolls: 1, deliveryDelayMs: 300, msPerSecond: MS_PER_SECOND });
    clients = motoClients(moto.endpoint, emulator.endpoint);
    activities = createEfsActivities({ ...clients, runtime: plainRuntime, pollIntervalMs: 20 });
    ids = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1a']);
    efs = createFakeEfs();
    const make = (name: string, withMountEfs = true) =>
      createInstanceSandbox({ name, efsRoot: efs.root, users: [{ name: 'ubuntu', uid: 1000 }], withMountEfs });
    [linux, bare, windows, denied, unreachable, stopped] = [
      await make('agent-linux'),
      await make('agent-bare', false),
      await make('agent-windows'),
      await make('agent-denied', false),
      await make('agent-unreachable', false),
      await make('agent-stopped'),
    ];
    emulator.register(ids[0], linux);
    emulator.register(ids[1], bare);
    emulator.register(ids[2], windows, { platformType: 'Windows' });
    emulator.register(ids[3], denied, { distributor: 'access-denied' });
    emulator.register(ids[4], unreachable, { distributor: 'unreachable' });
    emulator.register(ids[5], stopped);
    // ids[6] is never registered: an EC2 instance without an agent.
  });

  afterAll(async () => {
    await emulator?.stop();
    await destroyAllSandboxes();
    efs?.destroy();
    await moto?.stop();
  });

  const run = (instanceId: string, script: string, extra: { executionTimeoutSeconds?: number; deliveryTimeoutSeconds?: number } = {}) =>
    activities.runStepOnInstance({ instanceId, step: 'ensureGroup', script, ...extra });

  test('checkAgents (DescribeInstanceInformation: moto lacks it, the emulator answers): Online Linux is ready; offline, unregistered and Windows fail alone with their reason', async () => {
    emulator.stopInstance(ids[5]);
    try {
      const agents = await activities.checkAgents({ instanceIds: [ids[0], ids[5], ids[6], ids[2]] });
      expect(agents.ready).toEqual([ids[0]]);
      expect(agents.notReady.map((n) => [n.instanceId, n.kind])).toEqual([
        [ids[5], 'AgentOffline'],
        [ids[6], 'AgentNotRegistered'],
        [ids[2], 'PlatformNotLinux'],
      ]);
      expect(agents.notReady[0].reason).toContain('ConnectionLost');
      expect(agents.notReady[1].reason).toContain('not registered with Systems Manager');
      expect(agents.notReady[2].reason).toContain('Windows');
    } finally {
      emulator.startInstance(ids[5]);
    }
  });

  test('checkAgents pages DescribeInstanceInformation (the emulator answers it, 5 a page here) and finds every instance', async () => {
    const { paginateDescribeInstanceInformation } = await import('@aws-sdk/client-ssm');
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstanceInformation({ client: clients.ssm, pageSize: 5 }, {})) {
      pages++;
      seen.push(...(page.InstanceInformationList ?? []).map((i) => i.InstanceId!));
    }
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(ids.slice(0, 6).sort());
  });

  test("a script runs as the agent runs it: _script.sh by sh -c, as root, in /usr/bin, without HOME, with the agent's PATH", async () => {
    const result = await run(
      ids[0],
      [
        'echo "SHAREMOUNT_UNCHANGED cwd=$(pwd)"',
        'echo "SHAREMOUNT_UNCHANGED uid=$(id -u)"',
        'echo "SHAREMOUNT_UNCHANGED home=${HOME-unset}"',
        'echo "SHAREMOUNT_UNCHANGED path=$PATH"',
        'echo "SHAREMOUNT_UNCHANGED script=$0"',
        'echo "SHAREMOUNT_UNCHANGED instance=$AWS_SSM_INSTANCE_ID"',
      ].join('\n'),
    );
    expect(result.unchanged).toEqual([
      'cwd=/usr/bin',
      'uid=0',
      'home=unset',
      'path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
      `script=/var/lib/amazon/ssm/${ids[0]}/document/orchestration/${result.commandId}/awsrunShellScript/0.awsrunShellScript/_script.sh`,
      `instance=${ids[0]}`,
    ]);
  });

  test('Pending, then InProgress, then the final status, as GetCommandInvocation shows them', async () => {
    const sentCommand = await clients.ssm.send(
      new SendCommandCommand({ InstanceIds: [ids[0]], DocumentName: 'AWS-RunShellScript', TimeoutSeconds: 30, Parameters: { commands: ['sleep 0.5'] } }),
    );
    const seen: string[] = [];
    for (let i = 0; i < 200 && !['Success', 'Failed'].includes(seen[seen.length - 1]); i++) {
      try {
        const inv = await clients.ssm.send(new GetCommandInvocationCommand({ CommandId: sentCommand.Command!.CommandId!, InstanceId: ids[0] }));
        if (seen[seen.length - 1] !== inv.Status) seen.push(inv.Status!);
      } catch (error) {
        if ((error as Error).name !== 'InvocationDoesNotExist') throw error;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen).toEqual(['Pending', 'InProgress', 'Success']);
  });

  test('the execution timeout kills the whole process group and reports TimedOut/137 (ExecutionTimedOut), not retried', async () => {
    const marker = `/tmp/sharemount-orphan-${process.pid}`;
    const failure = await failureOf(run(ids[0], `(sleep 1; touch ${marker}) &\nsleep 30`, { executionTimeoutSeconds: 5 }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('execution-timed-out');
    expect(failure.details?.[0]).toMatchObject({ status: 'TimedOut', statusDetails: 'ExecutionTimedOut', exitCode: 137 });
    expect(failure.message).toContain('executionTimeout of 5 s');
    await new Promise((r) => setTimeout(r, 1500)); // real seconds: the background child's own sleep is not scaled
    expect((await linux.run(`test -e ${marker}`)).code).not.toBe(0); // it died with its process group
  });

  test('a stopped instance: the command stays Pending, then TimedOut/DeliveryTimedOut after its TimeoutSeconds, not retried', async () => {
    emulator.stopInstance(ids[5]);
    try {
      const failure = await failureOf(run(ids[5], 'echo never', { deliveryTimeoutSeconds: 30 }));
      expect(failure.type).toBe('delivery-timed-out');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.details?.[0]).toMatchObject({ status: 'TimedOut', statusDetails: 'DeliveryTimedOut', exitCode: -1 });
      expect(failure.message).toContain('did not take the command within 30 s');
      expect(emulator.sent.filter((s) => s.instanceId === ids[5]).length).toBe(1);
    } finally {
      emulator.startInstance(ids[5]);
    }
  });

  test('exit 194: the agent reboots the instance and runs the script again; the command succeeds after the reboot', async () => {
    const flag = '/mnt/sharemount-rebooted-once';
    const result = await run(ids[1], `if [ -e ${flag} ]; then echo "SHAREMOUNT_CHANGED ran again after the reboot"; exit 0; fi\ntouch ${flag}\nexit 194`);
    expect(result.changed).toEqual(['ran again after the reboot']);
    expect(emulator.sandboxOf(ids[1])).not.toBe(bare); // a fresh namespace over the same disk
  });

  test('output past 24,000 bytes is cut with the agent\'s "--output truncated--" marker; stderr reaches the service cut to 8,000', async () => {
    const sentCommand = await clients.ssm.send(
      new SendCommandCommand({
        InstanceIds: [ids[0]],
        DocumentName: 'AWS-RunShellScript',
        TimeoutSeconds: 30,
        Parameters: { commands: ['head -c 30000 /dev/zero | tr "\\0" a; head -c 30000 /dev/zero | tr "\\0" b >&2'] },
      }),
    );
    let inv;
    for (let i = 0; i < 300; i++) {
      inv = await clients.ssm.send(new GetCommandInvocationCommand({ CommandId: sentCommand.Command!.CommandId!, InstanceId: ids[0] })).catch(() => undefined);
      if (inv?.Status === 'Success') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(inv?.StandardOutputContent).toHaveLength(24000);
    expect(inv?.StandardOutputContent?.endsWith('a--output truncated--')).toBe(true);
    expect(inv?.StandardErrorContent).toBe('b'.repeat(8000));
  });

  test('CancelCommand (moto lacks it: the emulator answers) kills the script; the step fails Cancelled without retry', async () => {
    const step = run(ids[0], 'sleep 30', { executionTimeoutSeconds: 600 });
    let commandId: string | undefined;
    for (let i = 0; i < 100 && !commandId; i++) {
      await new Promise((r) => setTimeout(r, 20));
      commandId = emulator.sent.find((s) => s.script === 'sleep 30')?.commandId;
    }
    // Cancel while it runs (a command cancelled before delivery never starts: Cancelled with ResponseCode -1).
    for (let i = 0; i < 200; i++) {
      const inv = await clients.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId!, InstanceId: ids[0] })).catch(() => undefined);
      if (inv?.Status === 'InProgress') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await clients.ssm.send(new CancelCommandCommand({ CommandId: commandId!, InstanceIds: [ids[0]] }));
    const failure = await failureOf(step);
    expect(failure).toMatchObject({ type: 'cancelled', nonRetryable: true });
    expect(failure.details?.[0]).toMatchObject({ status: 'Cancelled', exitCode: 137 });
  });

  test("ListCommandInvocations (moto lacks it: the emulator answers) lists an instance's invocations with their plugin output", async () => {
    const result = await run(ids[0], 'echo "SHAREMOUNT_CHANGED listed"');
    const listed = await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: result.commandId, InstanceId: ids[0], Details: true }));
    expect(listed.CommandInvocations).toHaveLength(1);
    expect(listed.CommandInvocations![0]).toMatchObject({ Status: 'Success', DocumentName: 'AWS-RunShellScript' });
    expect(listed.CommandInvocations![0].CommandPlugins?.[0]).toMatchObject({
      Name: 'aws:runShellScript',
      ResponseCode: 0,
      Output: 'SHAREMOUNT_CHANGED listed\n',
    });
  });

  test('installPackageOnInstance (AWS-ConfigureAWSPackage) installs AmazonEFSUtils where it is missing, then finds it installed', async () => {
    expect((await bare.run('test -x /sbin/mount.efs')).code).not.toBe(0);
    const first = await activities.installPackageOnInstance({ instanceId: ids[1], packageName: 'AmazonEFSUtils' });
    expect(first).toMatchObject({ step: 'installPackage', exitCode: 0, changed: ['installed AmazonEFSUtils'], unchanged: [] });
    expect((await emulator.sandboxOf(ids[1])!.run('test -x /sbin/mount.efs')).code).toBe(0);
    const second = await activities.installPackageOnInstance({ instanceId: ids[1], packageName: 'AmazonEFSUtils' });
    expect(second).toMatchObject({ changed: [], unchanged: ['AmazonEFSUtils is already installed'] });
    const sentPackage = emulator.sent.filter((s) => s.documentName === 'AWS-ConfigureAWSPackage');
    expect(sentPackage).toHaveLength(2);
  });

  test('the Distributor route fails at once, saying what to do, when the role lacks ssm:GetManifest or the package cannot be downloaded', async () => {
    const deniedFailure = await failureOf(activities.installPackageOnInstance({ instanceId: ids[3], packageName: 'AmazonEFSUtils' }));
    expect(deniedFailure).toMatchObject({ type: 'package-access-denied', nonRetryable: true });
    expect(deniedFailure.message).toContain('AmazonSSMManagedInstanceCore');
    const unreachableFailure = await failureOf(activities.installPackageOnInstance({ instanceId: ids[4], packageName: 'AmazonEFSUtils' }));
    expect(unreachableFailure).toMatchObject({ type: 'package-unreachable', nonRetryable: true });
    expect(unreachableFailure.message).toContain('S3');
    expect((await unreachable.run('test -x /sbin/mount.efs')).code).not.toBe(0);
  });

  test('every SendCommand carries TimeoutSeconds and executionTimeout; bad timeouts and package names are refused before anything is sent', async () => {
    const before = emulator.sent.length;
    await expect(run(ids[0], 'true', { executionTimeoutSeconds: 3 })).rejects.toThrow(
      'executionTimeoutSeconds: 3 is not a whole number of seconds from 5 to 172800',
    );
    await expect(run(ids[0], 'true', { deliveryTimeoutSeconds: 10 })).rejects.toThrow(
      'deliveryTimeoutSeconds: 10 is not a whole number of seconds from 30 to 2592000',
    );
    await expect(activities.installPackageOnInstance({ instanceId: ids[0], packageName: "Amazon'EFS" })).rejects.toThrow('packageName:');
    await expect(activities.installPackageOnInstance({ instanceId: ids[0], packageName: 'AmazonEFSUtils', version: '$(reboot)' })).rejects.toThrow('version:');
    expect(emulator.sent.length).toBe(before);
  });
});
