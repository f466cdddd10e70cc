/**
 * The EFS activities against moto over HTTP (EFS, EC2, SSM), and the SSM step runner end to end: through
 * the agent emulator, each script really runs in an instance sandbox and its real exit code comes back.
 */
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeFileSystemsCommand, DescribeMountTargetsCommand } from '@aws-sdk/client-efs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createEfsActivities, EfsActivities, plainRuntime } from '../../src/activities/efs';
import { chooseMountTargetSubnets, creationToken, planEfsMount } from '../../src/domain/efs';
import { STEP_EXIT_CODES } from '../../src/domain/efs/steps/script';
import { createFakeEfs, createInstanceSandbox, destroyAllSandboxes, FakeEfs, InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { describeNeeding, needs } from '../support/requires';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { SsmAgentEmulator, startSsmAgentEmulator } from '../../src/sandbox/ssmAgentEmulator';
import { failureOf } from '../support/failures';

describe('EFS activities against moto', () => {
  let moto: MotoServer;
  let clients: ReturnType<typeof motoClients>;
  let activities: EfsActivities;
  let instanceIds: string[];

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
    activities = createEfsActivities({ ...clients, runtime: plainRuntime, pollIntervalMs: 20 });
    instanceIds = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1b']);
  });

  afterAll(async () => {
    await moto?.stop();
  });

  test('ensureFileSystem twice gives the same file system, created once, tagged, available', async () => {
    const first = await activities.ensureFileSystem({ name: 'research', tags: { team: 'science' } });
    const second = await activities.ensureFileSystem({ name: 'research', tags: { team: 'science' } });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, fileSystemId: first.fileSystemId, creationToken: creationToken('research'), tagsAdded: [] });
    const all = (await clients.efs.send(new DescribeFileSystemsCommand({}))).FileSystems ?? [];
    expect(all.filter((f) => f.CreationToken === 'sharemount-research').map((f) => f.FileSystemId)).toEqual([first.fileSystemId]);
    expect(Object.fromEntries((all[0].Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      Name: 'research',
      'sharemount:volume': 'research',
      team: 'science',
    });
    expect(await activities.awaitFileSystemAvailable({ fileSystemId: first.fileSystemId })).toMatchObject({ lifeCycleState: 'available' });
    expect(await activities.findFileSystem({ name: 'research' })).toMatchObject({ fileSystemId: first.fileSystemId });
    expect(await activities.findFileSystem({ name: 'nothing-here' })).toBeNull();
  });

  test('locateInstances reports subnet, zone and VPC; an unknown instance is reported, not fatal', async () => {
    const { found: networks, unknown } = await activities.locateInstances({ instanceIds });
    expect(unknown).toEqual([]);
    expect(networks.map((n) => n.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b']);
    expect(networks.every((n) => /^subnet-/.test(n.subnetId) && /^vpc-/.test(n.vpcId))).toBe(true);
    expect(new Set(networks.map((n) => n.vpcId)).size).toBe(1);
    const mixed = await activities.locateInstances({ instanceIds: [instanceIds[0], 'i-0000000000000dead'] });
    expect(mixed.found.map((n) => n.instanceId)).toEqual([instanceIds[0]]);
    expect(mixed.unknown.map((u) => u.instanceId)).toEqual(['i-0000000000000dead']);
    expect(mixed.unknown[0].reason).toContain('i-0000000000000dead');
  });

  test('the NFS security group and one mount target per zone are created once across two runs', async () => {
    const { fileSystemId } = await activities.ensureFileSystem({ name: 'research' });
    const { found: networks } = await activities.locateInstances({ instanceIds });
    const { vpcId, subnets } = chooseMountTargetSubnets(networks);

    const groupRuns = [];
    const targetRuns = [];
    for (let run = 0; run < 2; run++) {
      const group = await activities.ensureNfsSecurityGroup({ name: 'sharemount-research-nfs', vpcId, sourceCidrs: ['172.31.0.0/16'] });
      groupRuns.push(group);
      targetRuns.push(await activities.ensureMountTargets({ fileSystemId, subnetIds: subnets.map((s) => s.subnetId), securityGroupId: group.securityGroupId }));
    }
    expect(groupRuns.map((g) => [g.created, g.rulesAdded])).toEqual([
      [true, ['172.31.0.0/16']],
      [false, []],
    ]);
    expect(groupRuns[1].securityGroupId).toBe(groupRuns[0].securityGroupId);
    const groups =
      (await clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['sharemount-research-nfs'] }] }))).SecurityGroups ??
      [];
    expect(groups).toHaveLength(1);
    expect(groups[0].IpPermissions?.map((p) => [p.IpProtocol, p.FromPort, p.ToPort, p.IpRanges?.map((r) => r.CidrIp)])).toEqual([
      ['tcp', 2049, 2049, ['172.31.0.0/16']],
    ]);

    expect(targetRuns[0].mountTargets.map((mt) => [mt.availabilityZone, mt.created])).toEqual([
      ['us-east-1a', true],
      ['us-east-1b', true],
    ]);
    expect(targetRuns[1].mountTargets.map((mt) => [mt.mountTargetId, mt.created])).toEqual(targetRuns[0].mountTargets.map((mt) => [mt.mountTargetId, false]));
    expect(targetRuns[1].securityGroupAddedTo).toEqual([]);
    expect((await clients.efs.send(new DescribeMountTargetsCommand({ FileSystemId: fileSystemId }))).MountTargets).toHaveLength(2);
    expect(await activities.awaitMountTargetsAvailable({ fileSystemId })).toHaveLength(2);
  });

  test('without sources, the security group admits NFS from the VPC itself', async () => {
    const [network] = (await activities.locateInstances({ instanceIds: instanceIds.slice(0, 1) })).found;
    const group = await activities.ensureNfsSecurityGroup({ name: 'sharemount-vpc-wide', vpcId: network.vpcId });
    expect(group.rulesAdded).toEqual(['172.31.0.0/16']);
  });
});

describeNeeding([needs.rootNamespaces()], 'runStepOnInstance through SSM into instance sandboxes', () => {
  let moto: MotoServer;
  let emulator: SsmAgentEmulator;
  let efs: FakeEfs;
  let activities: EfsActivities;
  let instanceIds: string[];
  let fileSystemId: string;
  let sandboxes: InstanceSandbox[];

  beforeAll(async () => {
    moto = await startMoto();
    emulator = await startSsmAgentEmulator({ motoEndpoint: moto.endpoint, invisiblePolls: 2 });
    const clients = motoClients(moto.endpoint, emulator.endpoint);
    activities = createEfsActivities({ ...clients, runtime: plainRuntime, pollIntervalMs: 20 });
    instanceIds = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1b']);
    fileSystemId = (await activities.ensureFileSystem({ name: 'research' })).fileSystemId;
    efs = createFakeEfs();
    efs.fileSystem(fileSystemId);
    sandboxes = [
      await createInstanceSandbox({ name: 'ssm-ubuntu', efsRoot: efs.root, users: [{ name: 'ubuntu', uid: 1000 }] }),
      await createInstanceSandbox({ name: 'ssm-rocky', efsRoot: efs.root, users: [{ name: 'rocky', uid: 1001 }] }),
    ];
    instanceIds.forEach((id, i) => emulator.register(id, sandboxes[i]));
  });

  afterAll(async () => {
    await emulator?.stop();
    await destroyAllSandboxes();
    efs?.destroy();
    await moto?.stop();
  });

  test('every planned step runs on the instance through SSM and reports what it changed', async () => {
    const plan = planEfsMount({ volumeName: 'research', fileSystemId, instanceIds: instanceIds.slice(0, 1) });
    const results = [];
    for (const step of plan.instances[0].steps) {
      results.push(await activities.runStepOnInstance({ instanceId: instanceIds[0], step: step.step, script: step.script }));
    }
    expect(results.map((r) => r.exitCode)).toEqual(results.map(() => 0));
    expect(results.find((r) => r.step === 'addUsers')?.users).toEqual(['ubuntu']);
    expect(results.find((r) => r.step === 'mountVolume')?.changed).toEqual([`mounted ${fileSystemId} at /mnt/research with -o tls`]);
    expect(emulator.sent.map((s) => s.instanceId)).toEqual(plan.instances[0].steps.map(() => instanceIds[0]));
    expect(fs.statSync(path.join(efs.root, fileSystemId, 'users', 'ubuntu')).uid).toBe(1000);
    expect(fs.readFileSync(path.join(sandboxes[0].etcDir, 'fstab'), 'utf8')).toContain(`${fileSystemId}:/ /mnt/research efs _netdev,tls 0 0`);

    const again = await activities.runStepOnInstance({
      instanceId: instanceIds[0],
      step: 'persistFstab',
      script: plan.instances[0].steps.find((s) => s.step === 'persistFstab')!.script,
    });
    expect(again).toMatchObject({ step: 'persistFstab', changed: [], unchanged: ['/etc/fstab has the line for /mnt/research'] });
  });

  test("a GID held by another group on the instance fails without retry, with the script's message", async () => {
    expect((await sandboxes[1].run('groupadd -g 3000 research')).code).toBe(0);
    const plan = planEfsMount({ volumeName: 'research', fileSystemId, instanceIds: instanceIds.slice(1), users: ['rocky'] });
    const ensureGroup = plan.instances[0].steps.find((s) => s.step === 'ensureGroup')!;
    const failure = await failureOf(activities.runStepOnInstance({ instanceId: instanceIds[1], step: 'ensureGroup', script: ensureGroup.script }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      `ensureGroup on ${instanceIds[1]} failed (exit ${STEP_EXIT_CODES.conflict}): GID 3000 is already held by group research: choose another --gid, or --group research`,
    );
    expect(failure.details?.[0]).toMatchObject({ exitCode: 65, status: 'Failed', kind: 'script-conflict' });
  });
});
