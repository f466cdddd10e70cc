/**
 * The access point of a volume's shared area and the file system policy that requires access points, on AWS.
 *
 * CreateAccessPoint takes a ClientToken, but it is not a guard to rely on: moto ignores it (its
 * `EFSBackend.create_access_point` makes a new access point on every call), and a token only spans the
 * service's idempotency window. So the access point is found by its tag before one is created, and the tag
 * is also what delete checks, so only an access point sharemount made is ever deleted.
 */
import {
  AccessPointDescription,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DeleteFileSystemPolicyCommand,
  DescribeFileSystemPolicyCommand,
  DescribeFileSystemsCommand,
  EFSClient,
  PutFileSystemPolicyCommand,
  paginateDescribeAccessPoints,
} from '@aws-sdk/client-efs';
import { accessPointDifferences, ACCESS_POINT_TAG, type AccessPointSpec } from '../../domain/identity/accessPoint';
import { parsePolicy, samePolicy, withAccessPointOnly, withoutAccessPointOnly, type FileSystemPolicy } from '../../domain/identity/mountPolicy';
import { validateFileSystemId } from '../../domain/efs/names';
import { AwsCallError, AwsStateError, isAwsError } from './errors';

/** An access point tagged as ours whose identity or root is not the one asked for: only an operator can decide. */
export class AccessPointMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessPointMismatchError';
  }
}

export interface AccessPointState {
  accessPointId: string;
  accessPointArn: string;
  fileSystemId: string;
}

export interface EnsureAccessPointResult extends AccessPointState {
  /** False when an earlier attempt (or run) had made it. */
  created: boolean;
}

function stateOf(ap: AccessPointDescription): AccessPointState {
  return { accessPointId: ap.AccessPointId!, accessPointArn: ap.AccessPointArn ?? '', fileSystemId: ap.FileSystemId! };
}

/** sharemount's access points on the file system carrying this tag value (`<volume>/shared`), oldest first. */
async function taggedAccessPoints(efs: EFSClient, fileSystemId: string, tagValue: string): Promise<AccessPointDescription[]> {
  const found: AccessPointDescription[] = [];
  try {
    for await (const page of paginateDescribeAccessPoints({ client: efs }, { FileSystemId: fileSystemId })) {
      found.push(...(page.AccessPoints ?? []).filter((ap) => (ap.Tags ?? []).some((t) => t.Key === ACCESS_POINT_TAG && t.Value === tagValue)));
    }
  } catch (error) {
    throw AwsCallError.from(`describe the access points of ${fileSystemId}`, error);
  }
  return found.filter((ap) => !['deleting', 'deleted'].includes(ap.LifeCycleState ?? ''));
}

export async function findAccessPoint(efs: EFSClient, spec: AccessPointSpec): Promise<AccessPointState | null> {
  const [first] = await taggedAccessPoints(efs, spec.fileSystemId, spec.tagValue);
  return first ? stateOf(first) : null;
}

/**
 * The volume's shared-area access point: the one already tagged for it, or a new one. One that exists with
 * another identity or root is an error naming the differences, never replaced: mounts may be using it.
 */
export async function ensureAccessPoint(efs: EFSClient, spec: AccessPointSpec): Promise<EnsureAccessPointResult> {
  const [existing] = await taggedAccessPoints(efs, spec.fileSystemId, spec.tagValue);
  if (existing) {
    const differences = accessPointDifferences(spec, existing);
    if (differences.length > 0) {
      throw new AccessPointMismatchError(
        `access point ${existing.AccessPointId} (tag ${ACCESS_POINT_TAG}=${spec.tagValue}) differs: ${differences.join('; ')}; delete it or unmount the volume first`,
      );
    }
    return { ...stateOf(existing), created: false };
  }
  try {
    const created = await efs.send(
      new CreateAccessPointCommand({
        FileSystemId: spec.fileSystemId,
        ClientToken: spec.clientToken,
        Tags: spec.tags,
        PosixUser: spec.posixUser,
        RootDirectory: spec.rootDirectory,
      }),
    );
    return { accessPointId: created.AccessPointId!, accessPointArn: created.AccessPointArn ?? '', fileSystemId: spec.fileSystemId, created: true };
  } catch (error) {
    throw AwsCallError.from(`create the access point ${spec.tagValue} on ${spec.fileSystemId}`, error);
  }
}

/**
 * Deletes the access points sharemount made for this spec's area, and nothing else. Idempotent: one already
 * gone is not an error. Returns the IDs it deleted.
 */
export async function deleteAccessPoint(efs: EFSClient, spec: Pick<AccessPointSpec, 'fileSystemId' | 'tagValue'>): Promise<string[]> {
  const deleted: string[] = [];
  for (const ap of await taggedAccessPoints(efs, spec.fileSystemId, spec.tagValue)) {
    try {
      await efs.send(new DeleteAccessPointCommand({ AccessPointId: ap.AccessPointId }));
    } catch (error) {
      if (!isAwsError(error, 'AccessPointNotFound')) throw AwsCallError.from(`delete access point ${ap.AccessPointId}`, error);
    }
    deleted.push(ap.AccessPointId!);
  }
  return deleted;
}

export async function fileSystemArn(efs: EFSClient, fileSystemId: string): Promise<string> {
  try {
    const fs = (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: fileSystemId }))).FileSystems?.[0];
    if (!fs?.FileSystemArn) throw new AwsStateError('fileSystemNotFound', `file system ${fileSystemId} does not exist`);
    return fs.FileSystemArn;
  } catch (error) {
    throw AwsCallError.from(`describe file system ${fileSystemId}`, error);
  }
}

/** The file system's policy, or undefined when it has none (EFS then admits every client of its network). */
export async function readFileSystemPolicy(efs: EFSClient, id: string): Promise<FileSystemPolicy | undefined> {
  const fileSystemId = validateFileSystemId(id);
  try {
    const { Policy } = await efs.send(new DescribeFileSystemPolicyCommand({ FileSystemId: fileSystemId }));
    return Policy ? parsePolicy(Policy) : undefined;
  } catch (error) {
    if (isAwsError(error, 'PolicyNotFound')) return undefined;
    throw AwsCallError.from(`describe the policy of ${fileSystemId}`, error);
  }
}

async function putPolicy(efs: EFSClient, fileSystemId: string, policy: FileSystemPolicy): Promise<void> {
  try {
    await efs.send(new PutFileSystemPolicyCommand({ FileSystemId: fileSystemId, Policy: JSON.stringify(policy) }));
  } catch (error) {
    throw AwsCallError.from(`put the policy of ${fileSystemId}`, error);
  }
}

/** Adds the statements that refuse mounts without an access point; the policy's other statements stay. */
export async function requireAccessPoints(efs: EFSClient, id: string): Promise<{ changed: boolean; policy: FileSystemPolicy }> {
  const fileSystemId = validateFileSystemId(id);
  const existing = await readFileSystemPolicy(efs, fileSystemId);
  const policy = withAccessPointOnly(existing, await fileSystemArn(efs, fileSystemId));
  if (samePolicy(existing, policy)) return { changed: false, policy };
  await putPolicy(efs, fileSystemId, policy);
  return { changed: true, policy };
}

/** Removes exactly those statements: the policy goes when nothing else was in it. */
export async function stopRequiringAccessPoints(efs: EFSClient, id: string): Promise<{ changed: boolean; policy?: FileSystemPolicy }> {
  const fileSystemId = validateFileSystemId(id);
  const existing = await readFileSystemPolicy(efs, fileSystemId);
  if (!existing) return { changed: false };
  const rest = withoutAccessPointOnly(existing);
  if (samePolicy(existing, rest)) return { changed: false, policy: existing };
  if (rest) {
    await putPolicy(efs, fileSystemId, rest);
    return { changed: true, policy: rest };
  }
  try {
    await efs.send(new DeleteFileSystemPolicyCommand({ FileSystemId: fileSystemId }));
  } catch (error) {
    throw AwsCallError.from(`delete the policy of ${fileSystemId}`, error);
  }
  return { changed: true };
}
