/**
 * Strict validators for every value that travels to an instance or to AWS. Each throws an InputError naming
 * the CLI field, so the operator knows what to fix before anything is sent. Quoting (src/domain/shell.ts) is
 * the second wall, not the first: these patterns admit no shell metacharacter, space, quote, newline or
 * non-ASCII character at all.
 */
import { InputError } from '../errors';

export const DEFAULT_GROUP = 'prism-shared';
export const DEFAULT_GID = 3000;

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const POSIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const FILE_SYSTEM_ID = /^fs-[0-9a-f]{8,40}$/;
const MOUNT_POINT_CHARS = /^[A-Za-z0-9._/-]+$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Mounting over these would break the instance, or hide what it needs to boot. */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/root', '/run', '/sbin', '/sys', '/usr', '/var'];
const SYSTEM_DIRS = ['/', '/home', '/mnt', '/media', '/opt', '/srv', '/tmp'];

/** Groups whose members hold extra power on the instance: adding login users to them would escalate. */
const PRIVILEGED_GROUPS = ['root', 'wheel', 'sudo', 'adm', 'admin', 'shadow', 'disk', 'docker', 'lxd', 'kmem', 'systemd-journal'];

function describe(value: unknown): string {
  return JSON.stringify(value);
}

export function validateVolumeName(name: string, field = '<name>'): string {
  if (!VOLUME_NAME.test(name)) {
    throw new InputError(field, `${describe(name)} is not a volume name: start with a letter or digit, then up to 62 letters, digits, '-' or '_'`);
  }
  return name;
}

/** An absolute, already-normalised path made only of safe characters, outside the system's own trees. */
export function validateMountPoint(mountPoint: string, field = '--mount-point'): string {
  const problem = mountPointProblem(mountPoint);
  if (problem) throw new InputError(field, `${describe(mountPoint)} ${problem}`);
  return mountPoint;
}

function mountPointProblem(mountPoint: string): string | undefined {
  if (!mountPoint.startsWith('/')) return 'is not an absolute path';
  if (mountPoint.length > 255) return 'is longer than 255 characters';
  if (!MOUNT_POINT_CHARS.test(mountPoint)) return "may contain only letters, digits, '/', '.', '-' and '_'";
  const segments = mountPoint.split('/').slice(1);
  if (segments.some((s) => s === '')) return "is not normalised: no '//' and no trailing '/'";
  if (segments.some((s) => s === '.' || s === '..')) return "is not normalised: no '.' or '..' segments";
  if (segments.some((s) => s.startsWith('-'))) return "has a segment starting with '-'";
  if (SYSTEM_DIRS.includes(mountPoint)) return 'is a system directory; mount below it (e.g. /mnt/<name>)';
  if (SYSTEM_TREES.some((tree) => mountPoint === tree || mountPoint.startsWith(`${tree}/`))) return 'is inside a system directory';
  return undefined;
}

export function defaultMountPoint(volumeName: string): string {
  return `/mnt/${validateVolumeName(volumeName)}`;
}

/** A Linux login user to add to the shared group. `root` is refused: SSM runs as root, it is never the user. */
export function validateUserName(user: string, field = '--user'): string {
  if (!POSIX_NAME.test(user)) {
    throw new InputError(field, `${describe(user)} is not a Linux user name: lower-case letter or '_', then up to 31 of [a-z0-9_-]`);
  }
  if (user === 'root') throw new InputError(field, "'root' is not a login user: name the instance's real user (e.g. ubuntu, ec2-user, rocky)");
  return user;
}

export function validateUserNames(users: readonly string[], field = '--user'): string[] {
  const valid = users.map((u) => validateUserName(u, field));
  return [...new Set(valid)];
}

export function validateGroupName(group: string, field = '--group'): string {
  if (!POSIX_NAME.test(group)) {
    throw new InputError(field, `${describe(group)} is not a Linux group name: lower-case letter or '_', then up to 31 of [a-z0-9_-]`);
  }
  if (PRIVILEGED_GROUPS.includes(group))
    throw new InputError(field, `${describe(group)} is a privileged group; choose a dedicated one (default ${DEFAULT_GROUP})`);
  return group;
}

/** Below 1000 belongs to the distribution's system groups; 65534 is nogroup; above 60000 is GID_MAX territory. */
export function validateGid(gid: number | string, field = '--gid'): number {
  const text = String(gid);
  if (!/^[0-9]{1,5}$/.test(text)) throw new InputError(field, `${describe(gid)} is not a whole number`);
  const value = Number(text);
  if (value < 1000 || value > 60000) throw new InputError(field, `${value} is outside 1000..60000 (system groups live below 1000)`);
  return value;
}

export function validateInstanceId(id: string, field = '<instance-id>'): string {
  if (!INSTANCE_ID.test(id)) throw new InputError(field, `${describe(id)} is not an EC2 instance id (i- and 8 or 17 hex digits)`);
  return id;
}

export function validateInstanceIds(ids: readonly string[], field = '<instance-id>'): string[] {
  if (ids.length === 0) throw new InputError(field, 'name at least one instance');
  return [...new Set(ids.map((id) => validateInstanceId(id, field)))];
}

export function validateFileSystemId(id: string, field = 'file-system id'): string {
  if (!FILE_SYSTEM_ID.test(id)) throw new InputError(field, `${describe(id)} is not an EFS file-system id (fs- and hex digits)`);
  return id;
}

export function validateSubnetId(id: string, field = 'subnet id'): string {
  if (!SUBNET_ID.test(id)) throw new InputError(field, `${describe(id)} is not a subnet id`);
  return id;
}

export function validateSubnetIds(ids: readonly string[], field = '--subnet'): string[] {
  return [...new Set(ids.map((id) => validateSubnetId(id, field)))];
}

export function validateSecurityGroupId(id: string, field = 'security group id'): string {
  if (!SECURITY_GROUP_ID.test(id)) throw new InputError(field, `${describe(id)} is not a security group id`);
  return id;
}

export function validateVpcId(id: string, field = 'vpc id'): string {
  if (!VPC_ID.test(id)) throw new InputError(field, `${describe(id)} is not a VPC id`);
  return id;
}

export function validateIpv4Cidr(cidr: string, field = 'CIDR block'): string {
  const match = IPV4_CIDR.exec(cidr);
  const octetsOk = match !== null && match.slice(1, 5).every((o) => Number(o) <= 255);
  if (!match || !octetsOk || Number(match[5]) > 32) throw new InputError(field, `${describe(cidr)} is not an IPv4 CIDR block`);
  return cidr;
}
