/** What gatherInstanceFacts reports, and what the workflow decides from it: collisions and the install route. */
import { chooseInstallRoute, findIdentityCollisions, parseInstanceFacts, type InstanceFacts } from '../../../src/domain/efs';
import { chooseMountTargetSubnets } from '../../../src/domain/efs/network';
import { InputError } from '../../../src/domain/errors';

const [A, B, C] = ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2', 'i-0ccccccccccccccc3'];

function facts(instanceId: string, id: string, versionId: string, users: Array<[string, number]>): InstanceFacts {
  return {
    instanceId,
    os: { id, versionId, idLike: [] },
    users: users.map(([name, uid]) => ({ name, uid, gid: uid })),
    mountEfsInstalled: false,
    converged: false,
    drift: [],
  };
}

describe('instance facts', () => {
  test('the fact lines parse; anything else in stdout, and a user line that is not name UID GID, is left out', () => {
    const stdout = [
      'noise',
      'SHAREMOUNT_FACT os rocky|9.5|rhel centos fedora',
      'SHAREMOUNT_FACT user rocky 1000 1000',
      'SHAREMOUNT_FACT user bad;name 1 1',
      'SHAREMOUNT_FACT mount-efs yes\r',
    ].join('\n');
    expect(parseInstanceFacts(A, stdout)).toEqual({
      instanceId: A,
      os: { id: 'rocky', versionId: '9.5', idLike: ['rhel', 'centos', 'fedora'] },
      users: [{ name: 'rocky', uid: 1000, gid: 1000 }],
      mountEfsInstalled: true,
      converged: false,
      drift: [],
    });
  });

  test('converged only when the script says so and names no drift; drift lines are kept in words', () => {
    expect(parseInstanceFacts(A, 'SHAREMOUNT_FACT converged yes\n').converged).toBe(true);
    const drifted = parseInstanceFacts(A, 'SHAREMOUNT_FACT drift group prism-shared with GID 3000 is missing\nSHAREMOUNT_FACT converged yes\n');
    expect(drifted).toMatchObject({ converged: false, drift: ['group prism-shared with GID 3000 is missing'] });
    expect(parseInstanceFacts(A, 'SHAREMOUNT_FACT os amzn|2023|\n').converged).toBe(false);
  });

  test('the stock images: ubuntu, rocky and ec2-user at UID 1000 are one collision naming all three', () => {
    const collisions = findIdentityCollisions([
      facts(A, 'ubuntu', '24.04', [['ubuntu', 1000]]),
      facts(B, 'rocky', '9.5', [['rocky', 1000]]),
      facts(C, 'amzn', '2023', [['ec2-user', 1000]]),
    ]);
    expect(collisions).toEqual([
      {
        kind: 'same-uid-different-names',
        shared: '1000',
        holders: [`ubuntu (UID 1000) on ${A}`, `rocky (UID 1000) on ${B}`, `ec2-user (UID 1000) on ${C}`],
        meaning: expect.stringContaining('users/ec2-user/ and users/rocky/ and users/ubuntu/ all belong to UID 1000'),
      },
    ]);
  });

  test('the same name with different UIDs is a collision; the same name and UID everywhere is none', () => {
    const collisions = findIdentityCollisions([
      facts(A, 'ubuntu', '24.04', [
        ['alice', 1001],
        ['bob', 1002],
      ]),
      facts(B, 'rocky', '9.5', [
        ['alice', 1005],
        ['bob', 1002],
      ]),
    ]);
    expect(collisions).toEqual([
      expect.objectContaining({
        kind: 'same-name-different-uids',
        shared: 'alice',
        meaning: expect.stringContaining('users/alice/ is owned by one UID of 1001, 1005'),
      }),
    ]);
  });

  test.each([
    ['amzn', '2023', { kind: 'amazon-repositories', packageManager: 'dnf' }],
    ['amzn', '2', { kind: 'amazon-repositories', packageManager: 'yum' }],
    ['ubuntu', '24.04', { kind: 'distributor', packageName: 'AmazonEFSUtils' }],
    ['rocky', '9.5', { kind: 'distributor', packageName: 'AmazonEFSUtils' }],
    ['debian', '12', { kind: 'distributor', packageName: 'AmazonEFSUtils' }],
    ['', '', { kind: 'distributor', packageName: 'AmazonEFSUtils' }],
  ])('os-release %s %s installs efs-utils by %j', (id, versionId, route) => {
    expect(chooseInstallRoute(facts(A, id, versionId, []))).toEqual(route);
  });

  test('mount.efs already installed needs no route at all', () => {
    expect(chooseInstallRoute({ ...facts(A, 'ubuntu', '24.04', []), mountEfsInstalled: true })).toEqual({ kind: 'installed' });
  });
});

describe('mount target subnets', () => {
  const net = (instanceId: string, subnetId: string, zone: string) => ({
    instanceId,
    subnetId,
    availabilityZone: zone,
    vpcId: 'vpc-0aaaa1111',
    securityGroupIds: [],
  });

  test("given subnets replace the instances' own", () => {
    expect(chooseMountTargetSubnets([net(A, 'subnet-0aaaa1111', 'us-east-1a')], ['subnet-0cccc3333', 'subnet-0aaaa1111']).subnets).toEqual([
      { subnetId: 'subnet-0cccc3333', availabilityZone: '' },
      { subnetId: 'subnet-0aaaa1111', availabilityZone: 'us-east-1a' },
    ]);
  });

  test('a malformed --subnet is bad input naming --subnet', () => {
    let error: unknown;
    try {
      chooseMountTargetSubnets([net(A, 'subnet-0aaaa1111', 'us-east-1a')], ['subnet-x; rm -rf /']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('--subnet');
  });
});
