/**
 * Names in the registry. A person's name becomes a login name and the name of their private group on every
 * instance, so it follows the project's Linux user-name rule (src/domain/efs/names.ts: useradd's default
 * pattern, without the trailing `$` of Samba machine accounts) and may not be a name the images already use.
 */
import { validateUserName, validateVolumeName } from '../efs/names';
import { InputError } from '../errors';

/**
 * Accounts and groups that stock Debian, Ubuntu, Amazon Linux, RHEL and Rocky images ship, their default login
 * users, and the groups that grant power: a person by one of these names would collide with, or become, them.
 */
const RESERVED_NAMES = new Set([
  'root',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'www-data',
  'backup',
  'list',
  'irc',
  'gnats',
  'nobody',
  'nogroup',
  'nfsnobody',
  'operator',
  'ftp',
  'halt',
  'shutdown',
  'adm',
  'admin',
  'wheel',
  'sudo',
  'shadow',
  'disk',
  'kmem',
  'tty',
  'docker',
  'lxd',
  'staff',
  'users',
  'utmp',
  'messagebus',
  'sshd',
  'chrony',
  'polkitd',
  'rpc',
  'rpcuser',
  'tss',
  'dbus',
  'syslog',
  'uuidd',
  'tcpdump',
  'landscape',
  'pollinate',
  'fwupd-refresh',
  'usbmux',
  '_apt',
  'systemd-journal',
  'ubuntu',
  'debian',
  'ec2-user',
  'rocky',
  'centos',
  'fedora',
  'ssm-user',
  'cloud-user',
]);

export function validatePersonName(name: string, field = '<name>'): string {
  if (RESERVED_NAMES.has(name) || /^systemd-/.test(name)) {
    throw new InputError(field, `${JSON.stringify(name)} is a system or image account name; choose the person's own name (e.g. alice)`);
  }
  return validateUserName(name, field);
}

/** A registry's own name, part of its workflow ID: the volume-name rule. */
export function validateRegistryName(name: string, field = '--registry'): string {
  return validateVolumeName(name, field);
}

export const DEFAULT_REGISTRY_NAME = 'default';
