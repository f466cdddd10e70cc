/**
 * One identity per person, end to end on the built CLI: Ubuntu 24.04 and Rocky 9 sandboxes whose default users
 * are both UID 1000, reached through SSM (moto and the agent emulator), with the stand-in mount.efs honouring
 * `accesspoint=` as EFS does (the access point read from moto, its identity played by bindfs over FUSE).
 */
import { DescribeAccessPointsCommand, DescribeFileSystemPolicyCommand } from '@aws-sdk/client-efs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import { buildDemoCloud, type DemoCloud } from '../../src/sandbox/demo';
import type { InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { runCli } from '../support/cliProcess';
import { describeNeeding, needs } from '../support/requires';
import { uniqueTaskQueue, withWorker } from '../support/temporal';

describeNeeding([needs.rootNamespaces(), needs.bindfs()], 'one identity per person on ubuntu and rocky (both UID 1000)', () => {
  let fleet: DemoCloud;
  let clients: DemoCloud['clients'];
  let instanceIds: string[];
  let sandboxes: InstanceSandbox[];
  let efs: DemoCloud['efs'];
  let moto: DemoCloud['moto'];
  const taskQueue = uniqueTaskQueue('efs-identity');
  const registry = `id${process.pid}`;
  const env = { SHAREMOUNT_TASK_QUEUE: taskQueue };
  const awsEnv = (endpoint: string) => ({
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });

  beforeAll(async () => {
    fleet = await buildDemoCloud({ prefix: 'id', accessPoints: true });
    ({ clients, instanceIds, sandboxes, efs, moto } = fleet);
  }, 120_000);

  afterAll(async () => {
    // bindfs mounts end with their namespace; unmounted first so no FUSE daemon outlives the suite.
    for (const sandbox of sandboxes ?? []) await sandbox.run(`findmnt -rn -t fuse -o TARGET | while read -r m; do umount "$m"; done`);
    await fleet?.destroy();
  });

  const activities = () => createActivities({ awsIdentity: async () => ({}), ...clients, pollIntervalMs: 200 });
  const cli = (args: string[]) => withWorker({ taskQueue, activities: activities() }, () => runCli(args, env));
  const users = (args: string[]) => withWorker({ taskQueue }, () => runCli(['users', ...args], env));
  const ok = (result: { code: number; stdout: string; stderr: string }) => {
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    return JSON.parse(result.stdout);
  };

  /** efs create for a volume; its directory on the fake EFS made so the stand-in can mount it. */
  async function createVolume(volume: string, ...extra: string[]): Promise<string> {
    const created = ok(await cli(['efs', 'create', volume, '--instance', instanceIds[0], '--instance', instanceIds[1], ...extra, '--json'])).result;
    efs.fileSystem(created.fileSystemId);
    return created.fileSystemId;
  }

  const fstabLines = (sandbox: InstanceSandbox, mountPoint: string) =>
    fs
      .readFileSync(path.join(sandbox.etcDir, 'fstab'), 'utf8')
      .split('\n')
      .filter((line) => line.split(/\s+/)[1] === mountPoint);

  describe('access-point mode', () => {
    const volume = `ap${process.pid}`;
    const mountPoint = `/mnt/${volume}`;
    let fileSystemId: string;

    test('create --require-access-points: the dry run prints the policy, the run puts it', async () => {
      const dry = await runCli(
        ['efs', 'create', volume, '--instance', instanceIds[0], '--require-access-points', '--dry-run', '--json'],
        awsEnv(moto.endpoint),
      );
      const planned = ok(dry);
      expect(planned.policy.Statement.map((s: { Sid: string; Effect: string }) => [s.Sid, s.Effect])).toEqual([
        ['SharemountAccessPointsOnlyAllow', 'Allow'],
        ['SharemountAccessPointsOnlyDeny', 'Deny'],
      ]);
      fileSystemId = await createVolume(volume, '--require-access-points');
      const { Policy } = await clients.efs.send(new DescribeFileSystemPolicyCommand({ FileSystemId: fileSystemId }));
      expect(JSON.parse(Policy!).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['SharemountAccessPointsOnlyAllow', 'SharemountAccessPointsOnlyDeny']);
    });

    test('both UID-1000 users write the shared area through the access point, and every file belongs to the shared identity', async () => {
      const run = ok(await cli(['efs', 'mount', volume, ...instanceIds, '--identity', 'access-point', '--json'])).result;
      expect(run.instances.map((i: { ok: boolean; error?: string }) => [i.ok, i.error])).toEqual([
        [true, undefined],
        [true, undefined],
      ]);
      const points = (await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }))).AccessPoints ?? [];
      expect(points.map((p) => p.AccessPointId)).toEqual([run.accessPointId]);
      for (const sandbox of sandboxes) {
        expect(fstabLines(sandbox, mountPoint)).toEqual([`${fileSystemId}:/ ${mountPoint} efs _netdev,tls,accesspoint=${run.accessPointId} 0 0`]);
        expect(sandbox.mountEfsCalls().at(-1)).toMatch(new RegExp(`^${fileSystemId}:/ ${mountPoint} -o rw,tls,accesspoint=${run.accessPointId}$`));
      }
      // Neither default user is in the shared group: the access point alone lets them write.
      expect((await sandboxes[0].runAs('ubuntu', `id -G; echo one > ${mountPoint}/a.txt && mkdir ${mountPoint}/d`)).code).toBe(0);
      const appended = await sandboxes[1].runAs('rocky', `echo two >> ${mountPoint}/a.txt && echo three > ${mountPoint}/d/b.txt && cat ${mountPoint}/a.txt`);
      expect(appended).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
      const area = path.join(efs.root, fileSystemId, 'shared');
      const owners = ['', 'a.txt', 'd', 'd/b.txt'].map((entry) => {
        const st = fs.statSync(path.join(area, entry));
        return [entry, st.uid, st.gid];
      });
      expect(owners).toEqual([
        ['', 3000, 3000],
        ['a.txt', 3000, 3000],
        ['d', 3000, 3000],
        ['d/b.txt', 3000, 3000],
      ]);
      expect((fs.statSync(area).mode & 0o7777).toString(8)).toBe('2775');
    });

    test('a second mount makes no second access point; unmount --delete-access-point removes exactly the line and the access point', async () => {
      const again = ok(await cli(['efs', 'mount', volume, ...instanceIds, '--identity', 'access-point', '--json'])).result;
      expect(again.instances.every((i: { changes: string[] }) => i.changes.length === 0)).toBe(true);
      expect((await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }))).AccessPoints).toHaveLength(1);
      const off = ok(await cli(['efs', 'unmount', volume, ...instanceIds, '--identity', 'access-point', '--delete-access-point', '--json'])).result;
      expect(off.deletedAccessPoints).toEqual([again.accessPointId]);
      expect((await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }))).AccessPoints).toEqual([]);
      for (const sandbox of sandboxes) {
        expect(fstabLines(sandbox, mountPoint)).toEqual([]);
        expect((await sandbox.run(`findmnt -rn -M ${mountPoint} || true`)).stdout).toBe('');
      }
      expect(fs.readFileSync(path.join(efs.root, fileSystemId, 'shared', 'a.txt'), 'utf8')).toBe('one\ntwo\n');
    });
  });

  describe('provisioned people', () => {
    const volume = `pp${process.pid}`;
    const mountPoint = `/mnt/${volume}`;
    let fileSystemId: string;
    let alice: { uid: number; gid: number };

    test('the dry run shows the provisioning step with the registry numbers', async () => {
      alice = ok(await users(['add', 'alice', '--registry', registry, '--json']));
      fileSystemId = await createVolume(volume);
      const dry = await withWorker({ taskQueue }, () =>
        runCli(['efs', 'mount', volume, instanceIds[0], '--person', 'alice', '--registry', registry, '--dry-run'], awsEnv(moto.endpoint)),
      );
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`people: alice (uid ${alice.uid}, gid ${alice.gid})`);
      expect(dry.stdout).toMatch(new RegExp(`provisionPeople: create alice \\(${alice.uid}:${alice.gid}\\) with their registry IDs`));
      expect(dry.stdout).toContain(`PEOPLE='alice:${alice.uid}:${alice.gid}'`);
    });

    test('--person alice: one UID on both instances, users/alice/ owned by it', async () => {
      const run = ok(await cli(['efs', 'mount', volume, ...instanceIds, '--person', 'alice', '--registry', registry, '--json'])).result;
      expect(run.instances.map((i: { ok: boolean; error?: string }) => [i.ok, i.error])).toEqual([
        [true, undefined],
        [true, undefined],
      ]);
      for (const sandbox of sandboxes) {
        expect((await sandbox.run('id -u alice; id -g alice; id -nG alice')).stdout).toBe(`${alice.uid}\n${alice.gid}\nalice prism-shared\n`);
      }
      const home = fs.statSync(path.join(efs.root, fileSystemId, 'users', 'alice'));
      expect([home.uid, (home.mode & 0o7777).toString(8)]).toEqual([alice.uid, '2755']);
      expect((await sandboxes[0].runAs('alice', `echo mine > ${mountPoint}/users/alice/notes.txt`)).code).toBe(0);
      expect((await sandboxes[1].runAs('alice', `echo more >> ${mountPoint}/users/alice/notes.txt`)).code).toBe(0);
      expect(fs.statSync(path.join(efs.root, fileSystemId, 'users', 'alice', 'notes.txt')).uid).toBe(alice.uid);
      // The image user of UID 1000 is not the owner there: users/alice/ is alice's number alone (files in it stay
      // group-writable for the shared group, as everywhere on the volume).
      expect((await sandboxes[1].runAs('rocky', `echo no > ${mountPoint}/users/alice/rocky.txt`)).code).not.toBe(0);
      const again = ok(await cli(['efs', 'mount', volume, ...instanceIds, '--person', 'alice', '--registry', registry, '--json'])).result;
      expect(again.instances.every((i: { changes: string[] }) => i.changes.length === 0)).toBe(true);
    });

    test("a local account holding a person's UID under another name is refused, naming it, and nothing is created", async () => {
      const bob = ok(await users(['add', 'bob', '--registry', registry, '--json']));
      expect((await sandboxes[1].run(`useradd -M -N -u ${bob.uid} carol`)).code).toBe(0);
      const result = await cli(['efs', 'mount', volume, ...instanceIds, '--person', 'bob', '--registry', registry, '--json']);
      expect(result.code).toBe(1);
      const byId = Object.fromEntries(JSON.parse(result.stdout).result.instances.map((i: { instanceId: string }) => [i.instanceId, i]));
      expect(byId[instanceIds[0]].ok).toBe(true);
      expect(byId[instanceIds[1]].error).toContain(`UID ${bob.uid} of bob is already held by user carol`);
      expect((await sandboxes[1].run('id -u bob')).code).not.toBe(0);
      expect(fs.existsSync(path.join(efs.root, fileSystemId, 'users', 'bob'))).toBe(true); // made by the instance that could
    });

    test('an unregistered person is bad input naming --person, before anything runs', async () => {
      const result = await withWorker({ taskQueue }, () => runCli(['efs', 'mount', volume, instanceIds[0], '--person', 'zed', '--registry', registry], env));
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--person');
      expect(result.stderr).toContain('zed');
    });
  });
});
