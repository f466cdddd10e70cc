import { CreateFileSystemCommand, DescribeFileSystemsCommand, EFSClient, FileSystemDescription, TagResourceCommand } from '@aws-sdk/client-efs';
import { creationToken } from '../../domain/efs/creationToken';
import { validateFileSystemId, validateVolumeName } from '../../domain/efs/names';
import { AwsCallError, AwsStateError, isAwsError } from './errors';
import type { Polling } from './polling';

export interface FileSystemState {
  fileSystemId: string;
  lifeCycleState: string;
  creationToken: string;
}

export interface EnsureFileSystemInput {
  name: string;
  /** Extra tags; Name and sharemount:volume are always set. */
  tags?: Record<string, string>;
}

export interface EnsureFileSystemResult extends FileSystemState {
  /** False when the file system already existed (this run or an earlier one made it). */
  created: boolean;
  tagsAdded: string[];
}

const GONE = ['deleting', 'deleted'];

function volumeTags(name: string, extra: Record<string, string> = {}): { Key: string; Value: string }[] {
  const tags: Record<string, string> = { ...extra, Name: name, 'sharemount:volume': name };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function state(fs: FileSystemDescription): FileSystemState {
  return { fileSystemId: fs.FileSystemId!, lifeCycleState: fs.LifeCycleState ?? 'unknown', creationToken: fs.CreationToken ?? '' };
}

async function describeByToken(efs: EFSClient, token: string): Promise<FileSystemDescription | undefined> {
  try {
    return (await efs.send(new DescribeFileSystemsCommand({ CreationToken: token }))).FileSystems?.[0];
  } catch (error) {
    throw AwsCallError.from(`describe the file system with creation token ${token}`, error);
  }
}

/** The volume's file system if it exists; changes nothing (for plans, dry runs and mount/unmount by name). */
export async function findFileSystem(efs: EFSClient, name: string): Promise<FileSystemState | null> {
  const found = await describeByToken(efs, creationToken(name));
  return found ? state(found) : null;
}

/**
 * Creates the volume's file system, or finds the one an earlier attempt made: the creation token makes
 * CreateFileSystem idempotent, FileSystemAlreadyExists sends us to the existing one.
 */
export async function ensureFileSystem(efs: EFSClient, input: EnsureFileSystemInput): Promise<EnsureFileSystemResult> {
  const name = validateVolumeName(input.name);
  const token = creationToken(name);
  const tags = volumeTags(name, input.tags);
  try {
    const created = await efs.send(new CreateFileSystemCommand({ CreationToken: token, Encrypted: true, PerformanceMode: 'generalPurpose', Tags: tags }));
    return { ...state(created), created: true, tagsAdded: tags.map((t) => t.Key) };
  } catch (error) {
    if (!isAwsError(error, 'FileSystemAlreadyExists')) throw AwsCallError.from(`create file system for volume ${name}`, error);
  }
  const existing = await describeByToken(efs, token);
  if (!existing)
    throw new AwsCallError(`find file system ${token}`, 'IncorrectFileSystemLifeCycleState', 'FileSystemAlreadyExists, but it cannot be described yet');
  if (GONE.includes(existing.LifeCycleState ?? '')) {
    throw new AwsStateError(
      'fileSystemGone',
      `file system ${existing.FileSystemId} of volume ${name} is ${existing.LifeCycleState}; wait until it is gone, then create again`,
    );
  }
  const missing = tags.filter((tag) => !(existing.Tags ?? []).some((t) => t.Key === tag.Key && t.Value === tag.Value));
  if (missing.length > 0) {
    try {
      await efs.send(new TagResourceCommand({ ResourceId: existing.FileSystemId, Tags: missing }));
    } catch (error) {
      throw AwsCallError.from(`tag file system ${existing.FileSystemId}`, error);
    }
  }
  return { ...state(existing), created: false, tagsAdded: missing.map((t) => t.Key) };
}

/** Polls until the file system is available (EFS has no SDK waiter), reporting the state it sees. */
export async function awaitFileSystemAvailable(efs: EFSClient, id: string, polling: Polling): Promise<FileSystemState> {
  const fileSystemId = validateFileSystemId(id);
  for (;;) {
    let fs: FileSystemDescription | undefined;
    try {
      fs = (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: fileSystemId }))).FileSystems?.[0];
    } catch (error) {
      throw AwsCallError.from(`describe file system ${fileSystemId}`, error);
    }
    if (!fs) throw new AwsStateError('fileSystemNotFound', `file system ${fileSystemId} does not exist`);
    const current = state(fs);
    if (current.lifeCycleState === 'available') return current;
    if (current.lifeCycleState === 'error' || GONE.includes(current.lifeCycleState)) {
      throw new AwsStateError('fileSystemUnusable', `file system ${fileSystemId} is ${current.lifeCycleState}, it will not become available`);
    }
    polling.report({ fileSystemId, lifeCycleState: current.lifeCycleState });
    await polling.sleep(polling.intervalMs);
  }
}
