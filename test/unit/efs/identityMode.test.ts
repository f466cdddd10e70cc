import { ACCESS_POINT_PLACEHOLDER, planEfsMount, resolveEfsSettings } from '../../../src/domain/efs';
import { EFS_MOUNT_STEPS } from '../../../src/domain/efs/steps';
import { fstabEntry } from '../../../src/domain/efs/steps/persistFstab';
import { fieldOf } from '../../support/failures';

const request = { volumeName: 'research', fileSystemId: 'fs-0abc1234', instanceIds: ['i-0123456789abcdef0'] };
const alice = { name: 'alice', uid: 2000, gid: 2000 };

describe('identity modes in the EFS plan', () => {
  test('--person adds provisionPeople right after the layout, with the registry numbers as its input', () => {
    const steps = planEfsMount({ ...request, people: [alice] }).instances[0].steps;
    expect(steps.map((s) => s.step)).toEqual([...EFS_MOUNT_STEPS.slice(0, 6), 'provisionPeople', ...EFS_MOUNT_STEPS.slice(6)]);
    const provision = steps.find((s) => s.step === 'provisionPeople')!;
    expect(provision.script).toContain("PEOPLE='alice:2000:2000'");
    expect(provision.summary).toBe(
      'create alice (2000:2000) with their registry IDs, in group prism-shared, each with users/<name>/ on /mnt/research, on i-0123456789abcdef0',
    );
    expect(planEfsMount(request).instances[0].steps.map((s) => s.step)).toEqual(EFS_MOUNT_STEPS);
  });

  test('access-point mode mounts through the access point and runs no group, layout or umask step', () => {
    const plan = planEfsMount({ ...request, identity: 'access-point', accessPointId: 'fsap-0123456789abcdef0', iam: true });
    expect(plan.instances[0].steps.map((s) => s.step)).toEqual(['gatherInstanceFacts', 'installEfsUtils', 'mountVolume', 'persistFstab']);
    const mount = plan.instances[0].steps.find((s) => s.step === 'mountVolume')!;
    expect(mount.script).toContain("MOUNT_OPTIONS='tls,iam'\nACCESS_POINT='fsap-0123456789abcdef0'");
    expect(mount.summary).toContain('through access point fsap-0123456789abcdef0 (-o tls,iam,accesspoint=fsap-0123456789abcdef0)');
    expect(fstabEntry({ ...request, mountPoint: '/mnt/research', iam: false, accessPointId: 'fsap-0123456789abcdef0' })).toBe(
      'fs-0abc1234:/ /mnt/research efs _netdev,tls,accesspoint=fsap-0123456789abcdef0 0 0',
    );
    // Before the access point exists (a dry run), a placeholder stands in for its ID.
    expect(planEfsMount({ ...request, identity: 'access-point' }).accessPointId).toBe(ACCESS_POINT_PLACEHOLDER);
  });

  test('bad identity input names its field before anything is planned', () => {
    expect(fieldOf(() => resolveEfsSettings({ ...request, identity: 'both' as never }))).toBe('--identity');
    expect(fieldOf(() => resolveEfsSettings({ ...request, identity: 'access-point', people: [alice] }))).toBe('--person');
    expect(fieldOf(() => resolveEfsSettings({ ...request, accessPointId: 'fsap-0123456789abcdef0' }))).toBe('--identity');
    expect(fieldOf(() => resolveEfsSettings({ ...request, identity: 'access-point', accessPointId: 'fsap-12' }))).toBe('access point id');
    expect(fieldOf(() => resolveEfsSettings({ ...request, people: [alice, { name: 'bob', uid: 2000, gid: 2001 }] }))).toBe('--person');
    expect(fieldOf(() => resolveEfsSettings({ ...request, people: [{ name: 'ubuntu', uid: 2000, gid: 2000 }] }))).toBe('--person');
  });
});
