import {
  CreateFileSystemCommand,
  DescribeFileSystemsCommand,
  EFSClient,
  FileSystemDescription,
  TagResourceCommand,
} from '@aws-sdk/client-efs';
import { creationToken } from '../../domain/efs/creationToken';
import { validateFileSystemId, validateVolumeName } from '../../domain/efs/names';
import { ActivityRuntime, awsFailure, isAwsError, nonRetryable } from './runtime';

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

export function volumeTags(name: string, extra: Record<string, string> = {}): { Key: string; Value: string }[] {
  const tags: Record<string, string> = { ...extra, Name: name, 'sharemount:volume': name };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function state(fs: FileSystemDescription): FileSystemState {
  return { fileSystemId: fs.FileSystemId!, lifeCycleState: fs.LifeCycleState ?? 'unknown', creationToken: fs.CreationToken ?? '' };
}

export function fileSystemActivities(deps: { efs: EFSClient; runtime: ActivityRuntime; pollIntervalMs: number }) {
  const { efs, runtime, pollIntervalMs } = deps;

  async function describeByToken(token: string): Promise<FileSystemDescription | undefined> {
    try {
      const answer = await efs.send(new DescribeFileSystemsCommand({ CreationToken: token }));
      return answer.FileSystems?.[0];
    } catch (error) {
      throw awsFailure(`describe the file system with creation token ${token}`, error);
    }
  }

  return {
    /** The volume's file system if it exists; changes nothing (for plans and for mount/unmount by name). */
    async findFileSystem(input: { name: string }): Promise<FileSystemState | null> {
      const found = await describeByToken(creationToken(input.name));
      return found ? state(found) : null;
    },

    /**
     * Creates the volume's file system, or finds the one an earlier attempt made: the creation token makes
     * CreateFileSystem idempotent, FileSystemAlreadyExists sends us to the existing one.
     */
    async ensureFileSystem(input: EnsureFileSystemInput): Promise<EnsureFileSystemResult> {
      const name = validateVolumeName(input.name);
      const token = creationToken(name);
      const tags = volumeTags(name, input.tags);
      try {
        const created = await efs.send(
          new CreateFileSystemCommand({ CreationToken: token, Encrypted: true, PerformanceMode: 'generalPurpose', Tags: tags }),
        );
        return { ...state(created), created: true, tagsAdded: tags.map((t) => t.Key) };
      } catch (error) {
        if (!isAwsError(error, 'FileSystemAlreadyExists')) throw awsFailure(`create file system for volume ${name}`, error);
      }
      const existing = await describeByToken(token);
      if (!existing) throw awsFailure(`find file system ${token}`, Object.assign(new Error('FileSystemAlreadyExists, but it cannot be described yet'), { name: 'IncorrectFileSystemLifeCycleState' }));
      if (GONE.includes(existing.LifeCycleState ?? '')) {
        throw nonRetryable(`file system ${existing.FileSystemId} of volume ${name} is ${existing.LifeCycleState}; wait until it is gone, then create again`, 'file-system-gone');
      }
      const missing = tags.filter((tag) => !(existing.Tags ?? []).some((t) => t.Key === tag.Key && t.Value === tag.Value));
      if (missing.length > 0) {
        try {
          await efs.send(new TagResourceCommand({ ResourceId: existing.FileSystemId, Tags: missing }));
        } catch (error) {
          throw awsFailure(`tag file system ${existing.FileSystemId}`, error);
        }
      }
      return { ...state(existing), created: false, tagsAdded: missing.map((t) => t.Key) };
    },

    /** Polls until the file system is available (EFS has no SDK waiter); heartbeats the state it sees. */
    async awaitFileSystemAvailable(input: { fileSystemId: string }): Promise<FileSystemState> {
      const fileSystemId = validateFileSystemId(input.fileSystemId);
      for (;;) {
        let fs: FileSystemDescription | undefined;
        try {
          fs = (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: fileSystemId }))).FileSystems?.[0];
        } catch (error) {
          throw awsFailure(`describe file system ${fileSystemId}`, error);
        }
        if (!fs) throw nonRetryable(`file system ${fileSystemId} does not exist`, 'FileSystemNotFound');
        const current = state(fs);
        if (current.lifeCycleState === 'available') return current;
        if (current.lifeCycleState === 'error' || GONE.includes(current.lifeCycleState)) {
          throw nonRetryable(`file system ${fileSystemId} is ${current.lifeCycleState}, it will not become available`, 'file-system-unusable');
        }
        runtime.heartbeat({ fileSystemId, lifeCycleState: current.lifeCycleState });
        await runtime.sleep(pollIntervalMs);
      }
    },
  };
}
