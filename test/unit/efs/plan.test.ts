import { InputErrors } from '../../../src/domain/errors';
import {
  chooseMountTargetSubnets,
  classifySsmFailure,
  parseStepOutput,
  planEfsMount,
  planEfsUnmount,
  stepFailureMessage,
  trimOutput,
} from '../../../src/domain/efs';
import { EFS_MOUNT_STEPS } from '../../../src/domain/efs/steps';
import { fstabEntry } from '../../../src/domain/efs/steps/persistFstab';

const request = { volumeName: 'research', fileSystemId: 'fs-0abc1234', instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'] };

describe('EFS plan', () => {
  test('lists every mount step per instance, in order, with words and the exact script', () => {
    const plan = planEfsMount(request);
    expect(plan).toMatchObject({ action: 'mount', mountPoint: '/mnt/research', group: 'prism-shared', gid: 3000, users: [] });
    expect(plan.instances.map((i) => i.instanceId)).toEqual(request.instanceIds);
    expect(plan.instances[0].steps.map((s) => s.step)).toEqual(EFS_MOUNT_STEPS);
    const mount = plan.instances[0].steps.find((s) => s.step === 'mountVolume')!;
    expect(mount.summary).toBe('mount fs-0abc1234 at /mnt/research on i-0123456789abcdef0 with TLS (-o tls)');
    expect(mount.script).toMatch(/^#!\/bin\/sh\n/);
    expect(mount.script).toContain("FS_ID='fs-0abc1234'\nMOUNT_POINT='/mnt/research'\nMOUNT_OPTIONS='tls'");
    expect(mount.script).toContain('mount -t efs -o "$MOUNT_OPTIONS" "$FS_ID:/" "$MOUNT_POINT"');
    expect(mount.script).not.toMatch(/gid=/);
    expect(plan.installRoutes).toMatch(/dnf install amazon-efs-utils.*Distributor package AmazonEFSUtils through AWS-ConfigureAWSPackage/);
  });

  test('--iam mounts with tls,iam and writes it to the fstab line (efs-utils refuses iam without tls)', () => {
    const plan = planEfsMount({ ...request, iam: true });
    expect(plan.iam).toBe(true);
    const steps = plan.instances[0].steps;
    expect(steps.find((s) => s.step === 'mountVolume')!.script).toContain("MOUNT_OPTIONS='tls,iam'");
    expect(steps.find((s) => s.step === 'persistFstab')!.script).toContain("MOUNT_OPTIONS='tls,iam'");
    expect(fstabEntry({ fileSystemId: 'fs-0abc1234', mountPoint: '/mnt/research', iam: true })).toBe('fs-0abc1234:/ /mnt/research efs _netdev,tls,iam 0 0');
    expect(fstabEntry({ fileSystemId: 'fs-0abc1234', mountPoint: '/mnt/research', iam: false })).toBe('fs-0abc1234:/ /mnt/research efs _netdev,tls 0 0');
  });

  test('no script splices a value into code: values appear only in the assignments and comments', () => {
    const plan = planEfsMount({ ...request, mountPoint: '/data/lab', group: 'lab', gid: 4100, users: ['ubuntu', 'rocky'] });
    for (const step of plan.instances[0].steps) {
      const code = step.script.split('\n').filter((line) => !line.startsWith('#') && !/^[A-Z_]+='/.test(line));
      for (const value of ['/data/lab', 'fs-0abc1234', 'ubuntu', '4100']) {
        expect({ step: step.step, value, inCode: code.some((line) => line.includes(value)) }).toEqual({ step: step.step, value, inCode: false });
      }
    }
  });

  test('the unmount plan unmounts by mount point, then removes the fstab line', () => {
    const plan = planEfsUnmount({ ...request, instanceIds: [request.instanceIds[0]] });
    expect(plan.instances[0].steps.map((s) => [s.step, s.summary])).toEqual([
      ['unmountVolume', 'unmount /mnt/research on i-0123456789abcdef0'],
      ['removeFstabLine', 'remove the /etc/fstab line for /mnt/research on i-0123456789abcdef0 (data stays)'],
    ]);
  });

  test('every invalid field is reported at once', () => {
    try {
      planEfsMount({ volumeName: 'bad name', fileSystemId: 'fs-x', instanceIds: ['i-1'], users: ['root'] });
      throw new Error('expected InputErrors');
    } catch (error) {
      expect(error).toBeInstanceOf(InputErrors);
      expect((error as InputErrors).errors.map((e) => e.field)).toEqual(['<name>', 'file-system id', '<instance-id>', '--user']);
    }
  });
});

describe('step results', () => {
  test('parseStepOutput reads the result lines and ignores everything else', () => {
    const stdout =
      'noise\nSHAREMOUNT_USER ubuntu\nSHAREMOUNT_CHANGED added ubuntu to group prism-shared\r\nSHAREMOUNT_UNCHANGED group ok\nSHAREMOUNT_ERROR boom\nSHAREMOUNT_CHANGEDX no\n';
    expect(parseStepOutput(stdout)).toEqual({ changed: ['added ubuntu to group prism-shared'], unchanged: ['group ok'], users: ['ubuntu'], errors: ['boom'] });
  });

  test("the failure message is the script's own, else the last stderr line", () => {
    expect(stepFailureMessage('SHAREMOUNT_ERROR GID taken\n', 'sharemount: GID taken\n', 65)).toBe('GID taken');
    expect(stepFailureMessage('', 'first\nmount: permission denied\n', 32)).toBe('mount: permission denied');
    expect(stepFailureMessage('', '', 1)).toBe('the script exited with code 1 without output');
  });

  test('trimOutput keeps the end and says how much was cut', () => {
    expect(trimOutput('short')).toBe('short');
    const trimmed = trimOutput(`${'a'.repeat(10000)}END`, 100);
    expect(trimmed.endsWith('END')).toBe(true);
    expect(trimmed).toMatch(/^\[9903 characters cut\]\n/);
  });

  test.each([
    [{ errorName: 'ThrottlingException', httpStatus: 400 }, 'throttled', true],
    [{ errorName: 'InternalServerError', httpStatus: 500 }, 'server-error', true],
    [{ errorName: 'SomethingNew', httpStatus: 503 }, 'server-error', true],
    [{ errorName: 'InvalidInstanceId', httpStatus: 400 }, 'unknown-instance', false],
    [{ errorName: 'InvalidInstanceID.NotFound', httpStatus: 400 }, 'unknown-instance', false],
    [{ errorName: 'AccessDeniedException', httpStatus: 400 }, 'access-denied', false],
    [{ errorName: 'ValidationException', httpStatus: 400 }, 'invalid-request', false],
    [{ errorName: 'IncorrectFileSystemLifeCycleState', httpStatus: 409 }, 'not-ready', true],
    [{ errorName: 'ECONNRESET' }, 'network', true],
    [{ status: 'Failed', exitCode: 65 }, 'script-conflict', false],
    [{ status: 'Failed', exitCode: 64 }, 'script-bad-input', false],
    [{ status: 'Failed', exitCode: 66 }, 'script-missing-prerequisite', false],
    [{ status: 'Failed', exitCode: 1 }, 'script-failed', true],
    [{ status: 'TimedOut', exitCode: -1 }, 'delivery-timed-out', false],
    [{ status: 'Cancelled' }, 'cancelled', false],
  ])('classifySsmFailure(%j) is %s, retryable %s', (failure, kind, retryable) => {
    expect(classifySsmFailure(failure)).toEqual({ kind, retryable });
  });
});

describe('mount target subnets', () => {
  const net = (instanceId: string, subnetId: string, availabilityZone: string, vpcId = 'vpc-01234567') => ({
    instanceId,
    subnetId,
    availabilityZone,
    vpcId,
    securityGroupIds: [],
  });

  test('one subnet per zone, the first instance wins', () => {
    expect(
      chooseMountTargetSubnets([
        net('i-01234567', 'subnet-0000000a', 'us-east-1a'),
        net('i-01234568', 'subnet-0000000b', 'us-east-1a'),
        net('i-01234569', 'subnet-0000000c', 'us-east-1b'),
      ]),
    ).toEqual({
      vpcId: 'vpc-01234567',
      subnets: [
        { subnetId: 'subnet-0000000a', availabilityZone: 'us-east-1a' },
        { subnetId: 'subnet-0000000c', availabilityZone: 'us-east-1b' },
      ],
    });
  });

  test('instances in two VPCs are refused, naming them', () => {
    expect(() =>
      chooseMountTargetSubnets([net('i-01234567', 'subnet-0000000a', 'us-east-1a'), net('i-01234568', 'subnet-0000000b', 'us-east-1a', 'vpc-0000000f')]),
    ).toThrow(/2 VPCs.*i-01234568/);
  });
});
