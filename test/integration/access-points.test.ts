/**
 * Access-point mode's AWS half against moto over HTTP: the shared area's access point made once however
 * often it is ensured (looked up by tag, since moto ignores ClientToken), deleted exactly, and the file system
 * policy that refuses mounts without an access point added and removed around the operator's own statements.
 */
import {
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  DescribeFileSystemPolicyCommand,
  PutFileSystemPolicyCommand,
} from '@aws-sdk/client-efs';
import { createEfsActivities, plainRuntime } from '../../src/activities/efs';
import { createIdentityActivities } from '../../src/activities/identity';
import { sharedAreaAccessPoint } from '../../src/domain/identity';
import { motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { failureOf } from '../support/failures';

const SHARED = { name: 'prism-shared', gid: 3000 };

describe('access points and the file system policy against moto', () => {
  let moto: MotoServer;
  let clients: ReturnType<typeof motoClients>;
  let identity: ReturnType<typeof createIdentityActivities>;
  let fileSystemId: string;

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
    identity = createIdentityActivities(clients);
    fileSystemId = (await createEfsActivities({ ...clients, runtime: plainRuntime }).ensureFileSystem({ name: 'research' })).fileSystemId;
  });

  afterAll(async () => {
    await moto?.stop();
  });

  const accessPoints = async () => (await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }))).AccessPoints ?? [];
  const input = () => ({ volumeName: 'research', fileSystemId, sharedGroup: SHARED });

  test('a reused ClientToken is no guard here: moto makes a second access point (why ours looks up by tag)', async () => {
    const spec = sharedAreaAccessPoint('tokens', fileSystemId, SHARED);
    const send = () => clients.efs.send(new CreateAccessPointCommand({ FileSystemId: fileSystemId, ClientToken: spec.clientToken }));
    const [a, b] = [await send(), await send()];
    expect(a.AccessPointId).not.toBe(b.AccessPointId);
    for (const id of [a.AccessPointId, b.AccessPointId]) await clients.efs.send(new DeleteAccessPointCommand({ AccessPointId: id }));
  });

  test('ensured three times (as retries would), the access point exists once, with its identity and root', async () => {
    const results = [
      await identity.ensureSharedAccessPoint(input()),
      await identity.ensureSharedAccessPoint(input()),
      await identity.ensureSharedAccessPoint(input()),
    ];
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.accessPointId)).size).toBe(1);
    const ours = (await accessPoints()).filter((ap) => ap.AccessPointId === results[0].accessPointId);
    expect(await accessPoints()).toHaveLength(1);
    expect(ours[0]).toMatchObject({
      PosixUser: { Uid: 3000, Gid: 3000 },
      RootDirectory: { Path: '/shared', CreationInfo: { OwnerUid: 3000, OwnerGid: 3000, Permissions: '2775' } },
      Tags: expect.arrayContaining([{ Key: 'sharemount:access-point', Value: 'research/shared' }]),
    });
  });

  test('one tagged as ours with another identity is a final failure naming the difference, and is left alone', async () => {
    const other = sharedAreaAccessPoint('other', fileSystemId, SHARED);
    const made = await clients.efs.send(
      new CreateAccessPointCommand({
        FileSystemId: fileSystemId,
        ClientToken: 'x',
        Tags: other.tags,
        PosixUser: { Uid: 1000, Gid: 1000 },
        RootDirectory: other.rootDirectory,
      }),
    );
    const failure = await failureOf(identity.ensureSharedAccessPoint({ ...input(), volumeName: 'other' }));
    expect(failure).toMatchObject({ type: 'AccessPointMismatchError', nonRetryable: true });
    expect(failure.message).toMatch(/PosixUser.Uid is 1000, not 3000/);
    expect((await accessPoints()).map((ap) => ap.AccessPointId)).toContain(made.AccessPointId);
    await clients.efs.send(new DeleteAccessPointCommand({ AccessPointId: made.AccessPointId }));
  });

  test('delete removes exactly the access point it made: an untagged one on the same file system stays', async () => {
    const ours = await identity.ensureSharedAccessPoint(input());
    const foreign = await clients.efs.send(
      new CreateAccessPointCommand({ FileSystemId: fileSystemId, ClientToken: 'theirs', PosixUser: { Uid: 1000, Gid: 1000 } }),
    );
    expect(await identity.deleteSharedAccessPoint(input())).toEqual([ours.accessPointId]);
    expect(await identity.deleteSharedAccessPoint(input())).toEqual([]);
    expect((await accessPoints()).map((ap) => ap.AccessPointId)).toEqual([foreign.AccessPointId]);
  });

  test("the access-points-only policy is put once, beside the operator's statement, and removed leaving that statement", async () => {
    const theirs = { Sid: 'OperatorBackup', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'elasticfilesystem:Backup', Resource: '*' };
    await clients.efs.send(
      new PutFileSystemPolicyCommand({ FileSystemId: fileSystemId, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [theirs] }) }),
    );
    const first = await identity.requireAccessPoints({ fileSystemId });
    const second = await identity.requireAccessPoints({ fileSystemId });
    expect([first.changed, second.changed]).toEqual([true, false]);
    const stored = JSON.parse((await clients.efs.send(new DescribeFileSystemPolicyCommand({ FileSystemId: fileSystemId }))).Policy!);
    expect(stored.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'OperatorBackup',
      'SharemountAccessPointsOnlyAllow',
      'SharemountAccessPointsOnlyDeny',
    ]);
    expect(stored.Statement[2]).toMatchObject({
      Effect: 'Deny',
      Resource: expect.stringMatching(new RegExp(`:file-system/${fileSystemId}$`)),
      Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
    });
    expect(await identity.stopRequiringAccessPoints({ fileSystemId })).toMatchObject({ changed: true });
    const after = JSON.parse((await clients.efs.send(new DescribeFileSystemPolicyCommand({ FileSystemId: fileSystemId }))).Policy!);
    expect(after.Statement).toEqual([theirs]);
    expect(await identity.stopRequiringAccessPoints({ fileSystemId })).toMatchObject({ changed: false });
  });

  test('a bad file system ID is refused before anything is sent', async () => {
    await expect(identity.requireAccessPoints({ fileSystemId: 'fs-$(id)' })).rejects.toThrow(/file-system id: "fs-\$\(id\)"/);
    await expect(identity.ensureSharedAccessPoint({ ...input(), volumeName: 'a;b' })).rejects.toThrow(/<name>/);
  });
});
