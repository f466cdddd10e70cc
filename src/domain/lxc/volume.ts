/**
 * What a shared volume is and the rules every one must meet, whoever built it: the config loader (config.ts)
 * and the workflow that receives one as input both check with these. Kept apart from the loader because the
 * loader carries the JSON-schema validator, which has no place in the workflow bundle.
 */
import { InputError } from '../errors';
import { pathProblem } from './paths';
import { MOUNT_OPTIONS } from './mountPointFormat';

/** Whose the files of a volume become. */
export type OwnerSpec =
  | { kind: 'default' }
  | { kind: 'user'; user: string }
  | { kind: 'container_root' }
  /** `{ "uid": 33, "gid": 33 }`: these ids *inside* every container that mounts the volume. */
  | { kind: 'container_ids'; uid: number; gid: number };

/** chown: give the files the owner by a walk; idmap: per-mount `idmap=` maps the owner to one disk owner; auto: idmap where it can. */
export type StrategySetting = 'chown' | 'idmap' | 'auto';
export const STRATEGY_SETTINGS: readonly StrategySetting[] = ['chown', 'idmap', 'auto'];

export interface Ids {
  uid: number;
  gid: number;
}

export interface LxcMount {
  ctid: number;
  containerPath: string;
}

export interface LxcVolume {
  name: string;
  hostPath: string;
  owner: OwnerSpec;
  /** Sorted by CTID so plans and workflow IDs do not depend on the key order of the file. */
  mounts: LxcMount[];
  /** `read_only`: every container mounts it with ro=1. */
  readOnly?: boolean;
  /** `mountoptions`: Proxmox's own `opt[;opt…]` (nosuid, nodev, noexec, noatime, lazytime, discard). */
  mountOptions?: string;
  /** `backup`: backup=1|0 on each mount point. */
  backup?: boolean;
  /** `strategy`, absent meaning auto. */
  strategy?: StrategySetting;
  /** `disk_owner`: the ids on disk the idmap strategy maps every container's owner to. */
  diskOwner?: Ids;
}

export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const VOLUME_NAME_RULE = 'volume name must be 1-63 letters, digits, _ . - and start with a letter or digit';
/** Host user names as useradd accepts them by default (no trailing $: no machine accounts). */
export const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
export const USER_NAME_RULE = 'a host user name (lower-case letters, digits, _ . -, at most 32)';
export const CONTAINER_ROOT = 'container_root';
export const MOUNT_OPTIONS_RULE =
  'must be mount options as Proxmox takes them: one or more of discard, lazytime, noatime, nodev, noexec, nosuid separated by ";" (e.g. "nosuid;nodev")';

/** The `mountoptions` rule of pve-container's mount point format, for a config value. */
export function mountOptionsProblem(value: unknown): string | undefined {
  return typeof value === 'string' && MOUNT_OPTIONS.test(value) ? undefined : MOUNT_OPTIONS_RULE;
}

/** Proxmox accepts container IDs 100 through 999999999. */
export const MIN_CTID = 100;
export const MAX_CTID = 999_999_999;

export function isCtid(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= MIN_CTID && (value as number) <= MAX_CTID;
}

/** The highest id a user namespace can map (2^32 - 2; 2^32 - 1 is the kernel's "no id"). */
export const MAX_ID = 2 ** 32 - 2;
export const IDS_RULE = `an object { "uid": <n>, "gid": <n> } of whole numbers 0..${MAX_ID}`;

/** `{ uid, gid }` with nothing else, each a valid id; undefined otherwise. */
export function idsFrom(value: unknown): Ids | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value).sort().join(',');
  const { uid, gid } = value as Record<string, unknown>;
  const id = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_ID;
  return keys === 'gid,uid' && id(uid) && id(gid) ? { uid: uid as number, gid: gid as number } : undefined;
}

/** The owner a config value names, or undefined when it names none (absent means the default). */
export function ownerFrom(value: unknown): OwnerSpec | undefined {
  if (value === undefined) return { kind: 'default' };
  if (value === CONTAINER_ROOT) return { kind: 'container_root' };
  if (typeof value === 'string' && USER_NAME.test(value)) return { kind: 'user', user: value };
  const ids = idsFrom(value);
  return ids && { kind: 'container_ids', ...ids };
}

function ownerSpecOk(owner: OwnerSpec | undefined): boolean {
  switch (owner?.kind) {
    case 'default':
    case 'container_root':
      return true;
    case 'user':
      return typeof owner.user === 'string' && USER_NAME.test(owner.user);
    case 'container_ids':
      return idsFrom({ uid: owner.uid, gid: owner.gid }) !== undefined;
    default:
      return false;
  }
}

/**
 * The same rules for a volume that arrives already parsed (workflow input, a schedule's stored arguments):
 * a workflow checks every value before its first change, whoever built its input.
 */
export function volumeProblems(volume: LxcVolume): InputError[] {
  const at = `shared_volumes.${String(volume?.name)}`;
  const problems: InputError[] = [];
  if (typeof volume?.name !== 'string' || !VOLUME_NAME.test(volume.name)) problems.push(new InputError(at, VOLUME_NAME_RULE));
  const hostProblem = pathProblem(volume?.hostPath, 'host path');
  if (hostProblem) problems.push(new InputError(`${at}.host_path`, hostProblem));
  if (!ownerSpecOk(volume?.owner)) problems.push(new InputError(`${at}.owner`, `must be absent, ${USER_NAME_RULE}, ${CONTAINER_ROOT} or ${IDS_RULE}`));
  if (volume?.strategy !== undefined && !STRATEGY_SETTINGS.includes(volume.strategy)) {
    problems.push(new InputError(`${at}.strategy`, `must be one of ${STRATEGY_SETTINGS.join(', ')}`));
  }
  if (volume?.diskOwner !== undefined && !idsFrom(volume.diskOwner)) problems.push(new InputError(`${at}.disk_owner`, `must be ${IDS_RULE}`));
  for (const [key, value] of [
    ['read_only', volume?.readOnly],
    ['backup', volume?.backup],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') problems.push(new InputError(`${at}.${key}`, 'must be true or false'));
  }
  if (volume?.mountOptions !== undefined) {
    const problem = mountOptionsProblem(volume.mountOptions);
    if (problem) problems.push(new InputError(`${at}.mountoptions`, problem));
  }
  if (!Array.isArray(volume?.mounts) || volume.mounts.length === 0) problems.push(new InputError(`${at}.mounts`, 'must list at least one container'));
  for (const mount of Array.isArray(volume?.mounts) ? volume.mounts : []) {
    const field = `${at}.mounts.${String(mount?.ctid)}`;
    if (!isCtid(mount?.ctid)) problems.push(new InputError(field, `is not a container ID (${MIN_CTID}..${MAX_CTID})`));
    const containerProblem = pathProblem(mount?.containerPath, 'container path');
    if (containerProblem) problems.push(new InputError(field, containerProblem));
  }
  return problems;
}
