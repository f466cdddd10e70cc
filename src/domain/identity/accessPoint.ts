/**
 * The EFS access point of a volume's shared area, and the file system policy that makes access points the
 * only way in. Pure: the host layer (src/host/aws/accessPoints.ts) sends them, the dry run prints them.
 *
 * An access point imposes one POSIX identity on every operation through it (PosixUser) and exposes one
 * directory (RootDirectory), which EFS creates on first use with CreationInfo's owner and mode. Through it,
 * image users whose UIDs collide (ubuntu, rocky and ec2-user are all 1000) all act as the shared identity:
 * what is given up is per-person ownership, since every file shows the shared identity as its owner.
 */
import { validateFileSystemId, validateVolumeName } from '../efs/names';
import { InputError } from '../errors';
import type { RegistryConfig } from './config';

/** The tag that marks an access point as the one sharemount made for a volume's shared area. */
export const ACCESS_POINT_TAG = 'sharemount:access-point';

export interface AccessPointSpec {
  fileSystemId: string;
  /** Deterministic, so a retried create in an implementation that honours it returns the same access point. */
  clientToken: string;
  /** The tag value that finds it again: `<volume>/shared`. */
  tagValue: string;
  tags: Array<{ Key: string; Value: string }>;
  posixUser: { Uid: number; Gid: number };
  rootDirectory: { Path: string; CreationInfo: { OwnerUid: number; OwnerGid: number; Permissions: string } };
}

/**
 * efs-utils accepts `fsap-` and 17 hex digits (constants.AP_REGEX_PATTERN, checked in
 * mount_options.check_options_validity); moto makes 8 (`EFSBackend`'s `fsap-{get_random_hex(8)}`), which the
 * tests' stand-in mount.efs takes too.
 */
const ACCESS_POINT_ID = /^fsap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export function validateAccessPointId(id: string, field = 'access point id'): string {
  if (!ACCESS_POINT_ID.test(id)) throw new InputError(field, `${JSON.stringify(id)} is not an EFS access point id (fsap- and 17 hex digits)`);
  return id;
}

/** setgid so new entries keep the shared group; group-writable so the shared identity's peers can write. */
export const SHARED_AREA_MODE = '2775';

/** The access point for `<volume>`'s `shared/` directory, owned by and acting as the shared identity. */
export function sharedAreaAccessPoint(volume: string, fileSystemId: string, sharedGroup: RegistryConfig['sharedGroup']): AccessPointSpec {
  const name = validateVolumeName(volume);
  const id = validateFileSystemId(fileSystemId);
  const tagValue = `${name}/shared`;
  // The shared identity is the shared group's number as UID and GID: the registry never gives that UID to a person.
  const { gid } = sharedGroup;
  return {
    fileSystemId: id,
    clientToken: `sharemount-ap-${name}-shared`.slice(0, 64),
    tagValue,
    tags: [
      { Key: 'Name', Value: `${name}-shared` },
      { Key: 'sharemount:volume', Value: name },
      { Key: ACCESS_POINT_TAG, Value: tagValue },
    ],
    posixUser: { Uid: gid, Gid: gid },
    rootDirectory: { Path: '/shared', CreationInfo: { OwnerUid: gid, OwnerGid: gid, Permissions: SHARED_AREA_MODE } },
  };
}

/** What an existing access point must match to be the one `spec` describes; lists the differences. */
export function accessPointDifferences(
  spec: AccessPointSpec,
  found: {
    PosixUser?: { Uid?: number; Gid?: number };
    RootDirectory?: { Path?: string; CreationInfo?: { OwnerUid?: number; OwnerGid?: number; Permissions?: string } };
  },
): string[] {
  const differences: string[] = [];
  const expect = (what: string, actual: unknown, wanted: unknown) => {
    if (actual !== wanted) differences.push(`${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(wanted)}`);
  };
  expect('PosixUser.Uid', found.PosixUser?.Uid, spec.posixUser.Uid);
  expect('PosixUser.Gid', found.PosixUser?.Gid, spec.posixUser.Gid);
  expect('RootDirectory.Path', found.RootDirectory?.Path, spec.rootDirectory.Path);
  const info = found.RootDirectory?.CreationInfo;
  expect('CreationInfo.OwnerUid', info?.OwnerUid, spec.rootDirectory.CreationInfo.OwnerUid);
  expect('CreationInfo.OwnerGid', info?.OwnerGid, spec.rootDirectory.CreationInfo.OwnerGid);
  expect('CreationInfo.Permissions', info?.Permissions, spec.rootDirectory.CreationInfo.Permissions);
  return differences;
}
