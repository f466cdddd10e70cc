import { accessPointDifferences, parsePolicy, sharedAreaAccessPoint, withAccessPointOnly, withoutAccessPointOnly } from '../../../src/domain/identity';

const ARN = 'arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0';

describe('the shared area access point', () => {
  test('root directory shared/, created setgid 2775 for the shared group, acting as the shared identity', () => {
    const spec = sharedAreaAccessPoint('research', 'fs-0123456789abcdef0', { name: 'prism-shared', gid: 3000 });
    expect(spec.posixUser).toEqual({ Uid: 3000, Gid: 3000 });
    expect(spec.rootDirectory).toEqual({ Path: '/shared', CreationInfo: { OwnerUid: 3000, OwnerGid: 3000, Permissions: '2775' } });
    expect(spec.tags).toContainEqual({ Key: 'sharemount:access-point', Value: 'research/shared' });
    expect(accessPointDifferences(spec, { PosixUser: spec.posixUser, RootDirectory: spec.rootDirectory })).toEqual([]);
    expect(accessPointDifferences(spec, { PosixUser: { Uid: 1000, Gid: 3000 }, RootDirectory: spec.rootDirectory })).toEqual([
      'PosixUser.Uid is 1000, not 3000',
    ]);
  });
  test('bad volume or file system IDs are refused before anything is sent', () => {
    expect(() => sharedAreaAccessPoint('a;b', 'fs-0123456789abcdef0', { name: 'prism-shared', gid: 3000 })).toThrow(/<name>/);
    expect(() => sharedAreaAccessPoint('research', 'fs-$(id)', { name: 'prism-shared', gid: 3000 })).toThrow(/file-system id/);
  });
});

describe('the policy that refuses mounts without an access point', () => {
  test('allows mounts through an access point and denies any other', () => {
    const policy = withAccessPointOnly(undefined, ARN);
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Effect: 'Allow', Resource: ARN, Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'false' } } }),
      expect.objectContaining({ Effect: 'Deny', Resource: ARN, Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } } }),
    ]);
  });
  test("the operator's statements stay; adding twice is the same policy; removing takes exactly ours", () => {
    const theirs = parsePolicy(
      JSON.stringify({ Version: '2012-10-17', Statement: { Sid: 'Backup', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'elasticfilesystem:Backup' } }),
    );
    const once = withAccessPointOnly(theirs, ARN);
    expect(withAccessPointOnly(once, ARN)).toEqual(once);
    expect(once.Statement.map((s) => s.Sid)).toEqual(['Backup', 'SharemountAccessPointsOnlyAllow', 'SharemountAccessPointsOnlyDeny']);
    expect(withoutAccessPointOnly(once)).toEqual(theirs);
    expect(withoutAccessPointOnly(withAccessPointOnly(undefined, ARN))).toBeUndefined();
  });
  test('a bad ARN is refused', () => {
    expect(() => withAccessPointOnly(undefined, 'arn:aws:s3:::bucket')).toThrow(/file system ARN/);
  });
});
