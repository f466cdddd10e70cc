import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import { EFS_MOUNT_STEPS } from '../../src/domain/efs/steps';
import { createFakeEfs, createInstanceSandbox, destroyAllSandboxes, FakeEfs, InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { SsmAgentEmulator, startSsmAgentEmulator } from '../../src/sandbox/ssmAgentEmulator';
import { runCli } from '../support/cliProcess';
import { describeNeeding, needs } from '../support/requires';
import { uniqueTaskQueue, withWorker } from '../support/temporal';

/**
 * End to end as an operator runs it: the CLI starts the workflow on the suite's Temporal server, the worker's
 * SSM executor sends each step to moto over HTTP, the SSM agent emulator runs the script in the instance's
 * mount namespace, and the script's real exit status comes back through GetCommandInvocation.
 */

describeNeeding([needs.rootNamespaces()], 'sharemount efs, CLI → Temporal → SSM → instance', () => {
  let moto: MotoServer;
  let emulator: SsmAgentEmulator;
  let efs: FakeEfs;
  let clients: ReturnType<typeof motoClients>;
  let instanceIds: string[];
  let sandboxes: InstanceSandbox[];
  const taskQueue = uniqueTaskQueue('cli-efs');
  const volume = `cli${process.pid}`;
  const env = { SHAREMOUNT_TASK_QUEUE: taskQueue };

  beforeAll(async () => {
    moto = await startMoto();
    emulator = await startSsmAgentEmulator({ motoEndpoint: moto.endpoint });
    clients = motoClients(moto.endpoint, emulator.endpoint);
    instanceIds = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1b']);
    efs = createFakeEfs();
    sandboxes = [
      await createInstanceSandbox({ name: 'cli-ubuntu', efsRoot: efs.root, image: 'ubuntu-24.04' }),
      await createInstanceSandbox({ name: 'cli-rocky', efsRoot: efs.root, image: 'rocky-9' }),
    ];
    instanceIds.forEach((id, i) => emulator.register(id, sandboxes[i]));
  }, 120_000);

  afterAll(async () => {
    await emulator?.stop();
    await destroyAllSandboxes();
    efs?.destroy();
    await moto?.stop();
  });

  const activities = () => createActivities({ awsIdentity: async () => ({}), ...clients, pollIntervalMs: 200 });
  const cli = (args: string[]) => withWorker({ taskQueue, activities: activities() }, () => runCli(args, env));

  it('create makes one file system and mount targets; run twice, it creates nothing', async () => {
    const first = await cli(['efs', 'create', volume, '--instance', instanceIds[0], '--instance', instanceIds[1], '--json']);
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout).result;
    expect(created.created).toBe(true);
    expect(created.mountTargets.map((t: { availabilityZone: string }) => t.availabilityZone).sort()).toEqual(['us-east-1a', 'us-east-1b']);
    const second = JSON.parse((await cli(['efs', 'create', volume, '--instance', instanceIds[0], '--instance', instanceIds[1], '--json'])).stdout).result;
    expect(second.fileSystemId).toBe(created.fileSystemId);
    expect(second.created).toBe(false);
    expect(second.mountTargets.every((t: { created: boolean }) => !t.created)).toBe(true);
    efs.fileSystem(created.fileSystemId);
  });

  it('create with an instance that does not exist finishes for the others but exits 1, naming it', async () => {
    const ghost = 'i-0fedcba9876543210';
    const result = await cli(['efs', 'create', volume, '--instance', instanceIds[0], '--instance', ghost]);
    expect(result.stdout).toMatch(new RegExp(`^fs-[0-9a-f]+ already existed;`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^${ghost}: .*InvalidInstanceID\\.NotFound`, 'm'));
    expect(result.code).toBe(1);
  });

  it('create --subnet with a malformed subnet ID fails before anything starts, naming --subnet', async () => {
    const result = await runCli(['efs', 'create', volume, '--instance', instanceIds[0], '--subnet', 'subnet-nothex'], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--subnet');
  });

  it("mount runs every step on both instances for real; files are shared; the stock images' UID 1000 is reported as a collision", async () => {
    const sentBefore = emulator.sent.length;
    const result = await cli(['efs', 'mount', volume, ...instanceIds, '--json']);
    expect(result.code).toBe(0);
    const { result: run, progress } = JSON.parse(result.stdout);
    expect(run.instances.map((i: { ok: boolean }) => i.ok)).toEqual([true, true]);
    expect(emulator.sent.length - sentBefore).toBe(16); // the facts and 7 steps on each instance, each sent once
    expect(run.identities.instances.map((i: { os: { id: string }; users: unknown[] }) => [i.os.id, i.users])).toEqual([
      ['ubuntu', [{ name: 'ubuntu', uid: 1000, gid: 1000 }]],
      ['rocky', [{ name: 'rocky', uid: 1000, gid: 1000 }]],
    ]);
    expect(run.identities.collisions).toEqual([expect.objectContaining({ kind: 'same-uid-different-names', shared: '1000' })]);
    // The parent's board took each child's final row from its result (no signal at the end), and the
    // rows do not leak into the result.
    for (const instance of run.instances) {
      expect(instance.rows).toBeUndefined();
      const row = progress.targets.find((t: { target: string }) => t.target === instance.instanceId);
      expect(row).toMatchObject({ state: 'ok', stepsDone: 7, stepsTotal: 7, changes: instance.changes });
      expect(instance.changes.length).toBeGreaterThan(0);
    }
    const mountPoint = `/mnt/${volume}`;
    expect((await sandboxes[0].runAs('ubuntu', `echo one > ${mountPoint}/shared/a.txt`)).code).toBe(0);
    const appended = await sandboxes[1].runAs('rocky', `echo two >> ${mountPoint}/shared/a.txt && cat ${mountPoint}/shared/a.txt`);
    expect(appended.stdout).toBe('one\ntwo\n');
    for (const sandbox of sandboxes) {
      const fstab = fs.readFileSync(path.join(sandbox.etcDir, 'fstab'), 'utf8');
      expect(fstab.split('\n').filter((line) => line.split(/\s+/)[1] === mountPoint)).toEqual([`${run.fileSystemId}:/ ${mountPoint} efs _netdev,tls 0 0`]);
    }
  });

  it('a second mount changes nothing and says so', async () => {
    const result = await cli(['efs', 'mount', volume, ...instanceIds, '--json']);
    expect(result.code).toBe(0);
    const run = JSON.parse(result.stdout).result;
    expect(run.instances.every((i: { changes: string[] }) => i.changes.length === 0)).toBe(true);
    const groups = fs
      .readFileSync(path.join(sandboxes[0].etcDir, 'group'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('prism-shared:'));
    expect(groups).toEqual(['prism-shared:x:3000:ubuntu']);
  });

  it("an unknown instance fails alone (exit 1) with EC2's message; the other is still served", async () => {
    const ghost = 'i-0123456789abcdef0';
    const result = await cli(['efs', 'mount', volume, instanceIds[0], ghost, '--json']);
    expect(result.code).toBe(1);
    const byId = Object.fromEntries(
      JSON.parse(result.stdout).result.instances.map((i: { instanceId: string; ok: boolean; error?: string }) => [i.instanceId, i]),
    );
    expect(byId[instanceIds[0]].ok).toBe(true);
    expect(byId[ghost].ok).toBe(false);
    expect(byId[ghost].error).toMatch(/InvalidInstanceID\.NotFound/);
  });

  it('dry run prints the exact scripts and sends nothing', async () => {
    const sentBefore = emulator.sent.length;
    const result = await runCli(['efs', 'mount', volume, instanceIds[0], '--user', 'ubuntu', '--dry-run', '--json'], {
      ...env,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.fileSystemExists).toBe(true);
    expect(plan.installRoutes).toContain('AmazonEFSUtils');
    // The read-only facts first, then the runbook (its order is test/unit/efs/steps.test.ts's business).
    expect(plan.instances[0].steps.map((s: { step: string }) => s.step)).toEqual(EFS_MOUNT_STEPS);
    expect(plan.instances[0].steps.find((s: { step: string }) => s.step === 'mountVolume').script).toContain(plan.fileSystemId);
    expect(emulator.sent.length).toBe(sentBefore);
  });

  it('dry run by tag lists what the tag selects now, beside a named instance, and sends nothing', async () => {
    await clients.ec2.send(new CreateTagsCommand({ Resources: [instanceIds[1]], Tags: [{ Key: 'Project', Value: `dry${process.pid}` }] }));
    const sentBefore = emulator.sent.length;
    const awsEnv = { ...env, AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    const result = await runCli(['efs', 'mount', volume, instanceIds[0], '--tag', `Project=dry${process.pid}`, '--dry-run', '--json'], awsEnv);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.instances.map((i: { instanceId: string }) => i.instanceId)).toEqual([...instanceIds].sort());
    expect(plan.tags).toEqual([{ key: 'Project', values: [`dry${process.pid}`] }]);
    expect(result.stderr).toContain(`select ${instanceIds[1]} now`);
    const nothing = await runCli(['efs', 'mount', volume, '--tag', 'Project=nobody-has-this', '--dry-run'], awsEnv);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('no instance matches instances tagged Project=nobody-has-this now');
    expect(emulator.sent.length).toBe(sentBefore);
  });

  it('unmount removes exactly that fstab line and leaves the data', async () => {
    const result = await cli(['efs', 'unmount', volume, ...instanceIds, '--json']);
    expect(result.code).toBe(0);
    for (const sandbox of sandboxes) {
      expect(fs.readFileSync(path.join(sandbox.etcDir, 'fstab'), 'utf8')).not.toContain(`/mnt/${volume}`);
      expect((await sandbox.run(`grep -c " /mnt/${volume} " /proc/self/mounts || true`)).stdout.trim()).toBe('0');
    }
    const data = fs.readdirSync(efs.root).map((fsId) => path.join(efs.root, fsId, 'shared', 'a.txt'));
    expect(fs.readFileSync(data[0], 'utf8')).toBe('one\ntwo\n');
  });
});
