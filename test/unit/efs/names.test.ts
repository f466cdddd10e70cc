import { InputError } from '../../../src/domain/errors';
import {
  creationToken,
  validateFileSystemId,
  validateGid,
  validateGroupName,
  validateInstanceId,
  validateMountPoint,
  validateUserName,
  validateVolumeName,
} from '../../../src/domain/efs';

const HOSTILE = ['a; touch /tmp/pwned', '$(id)', '`id`', "a'b", 'a"b', 'a\nb', 'a b', 'a\tb', 'ä', 'a|b', 'a&b', 'a>b', '', 'a\\b', 'a*'];

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).field;
  }
}

describe('EFS input validation', () => {
  test.each(HOSTILE)('%j is rejected in every field, naming the CLI field', (value) => {
    expect(fieldOf(() => validateVolumeName(value))).toBe('<name>');
    expect(fieldOf(() => validateMountPoint(`/mnt/${value}`))).toBe('--mount-point');
    expect(fieldOf(() => validateUserName(value))).toBe('--user');
    expect(fieldOf(() => validateGroupName(value))).toBe('--group');
    expect(fieldOf(() => validateGid(value))).toBe('--gid');
    if (value === '') return;
    expect(fieldOf(() => validateInstanceId(`i-0123456789abcdef0${value}`))).toBe('<instance-id>');
    expect(fieldOf(() => validateFileSystemId(`fs-0abc1234${value}`))).toBe('file-system id');
  });

  test('ordinary values pass unchanged', () => {
    expect(validateVolumeName('research-data_2')).toBe('research-data_2');
    expect(validateMountPoint('/mnt/research')).toBe('/mnt/research');
    expect(validateMountPoint('/data/shared.v2')).toBe('/data/shared.v2');
    expect(validateUserName('ec2-user')).toBe('ec2-user');
    expect(validateGroupName('prism-shared')).toBe('prism-shared');
    expect(validateGid('3000')).toBe(3000);
    expect(validateInstanceId('i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
    expect(validateInstanceId('i-0123abcd')).toBe('i-0123abcd');
    expect(validateFileSystemId('fs-5d0fa27f')).toBe('fs-5d0fa27f');
  });

  test.each([
    'mnt/x',
    '/mnt/x/',
    '/mnt//x',
    '/mnt/../etc',
    '/mnt/./x',
    '/',
    '/mnt',
    '/etc',
    '/etc/x',
    '/usr/local/x',
    '/proc/x',
    '/mnt/-x',
    `/mnt/${'x'.repeat(260)}`,
  ])('mount point %j is refused', (mountPoint) => expect(() => validateMountPoint(mountPoint)).toThrow(InputError));

  test('root is never a login user, and privileged groups are never the shared group', () => {
    expect(() => validateUserName('root')).toThrow(/not a login user/);
    for (const group of ['root', 'wheel', 'sudo', 'docker']) expect(() => validateGroupName(group)).toThrow(/privileged/);
  });

  test('GIDs of system groups, nogroup and beyond GID_MAX are refused', () => {
    for (const gid of [0, 999, 60001, 65534, -1, 3000.5]) expect(() => validateGid(gid)).toThrow(InputError);
  });

  test('instance and file-system ids must have the AWS shape', () => {
    for (const id of ['i-123', 'i-0123456789ABCDEF0', 'i-0123456789abcdef', 'x-0123456789abcdef0']) expect(() => validateInstanceId(id)).toThrow(InputError);
    for (const id of ['fs-12', 'fs-ABCDEF12', 'fsap-0123456789abcdef0']) expect(() => validateFileSystemId(id)).toThrow(InputError);
  });
});

describe('creation token', () => {
  test('is the same for the same name, different for different names', () => {
    expect(creationToken('research')).toBe('sharemount-research');
    expect(creationToken('research')).toBe(creationToken('research'));
    expect(creationToken('research')).not.toBe(creationToken('research2'));
  });

  test('stays within 64 characters and keeps long names with a common prefix apart', () => {
    const a = `${'a'.repeat(55)}-one`;
    const b = `${'a'.repeat(55)}-two`;
    expect(creationToken(a).length).toBeLessThanOrEqual(64);
    expect(creationToken(b).length).toBeLessThanOrEqual(64);
    expect(creationToken(a)).not.toBe(creationToken(b));
    expect(creationToken(a)).toBe(creationToken(a));
  });

  test('refuses an invalid volume name', () => {
    expect(() => creationToken('bad name')).toThrow(InputError);
  });
});
