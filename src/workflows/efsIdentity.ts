/**
 * The identity steps of the EFS runbook that run against EFS itself, not on an instance: the shared area's access
 * point (access-point mode), its deletion when an unmount asks for it, and the file system policy that refuses
 * mounts without an access point (`efs create --require-access-points`). Each is one activity, named as the Web
 * UI shows it, on the file system's row.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DEFAULT_GID, DEFAULT_GROUP } from '../domain/efs/names';
import type { FileSystemPolicy } from '../domain/identity/mountPolicy';
import { AWS_RETRY } from './awsRetry';
import type { ProgressBoard } from './progress';

// A mismatched access point comes back non-retryable from the activity itself (activities/identity).
const efsApi = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: AWS_RETRY });

export interface SharedAreaRequest {
  volumeName: string;
  fileSystemId: string;
  group?: string;
  gid?: number | string;
}

/** The shared identity an access point imposes: the mount's shared group, whose number is also its UID. */
function sharedGroupOf(request: SharedAreaRequest): { name: string; gid: number } {
  return { name: request.group ?? DEFAULT_GROUP, gid: Number(request.gid ?? DEFAULT_GID) };
}

/** access-point mode: the volume's shared-area access point, found by its tag or made once. */
export async function ensureSharedAccessPoint(board: ProgressBoard, row: string, request: SharedAreaRequest): Promise<string> {
  const { volumeName, fileSystemId } = request;
  const result = await board.step(
    row,
    'ensureSharedAccessPoint',
    () =>
      efsApi.ensureSharedAccessPoint.executeWithOptions({ summary: `create or find the access point of ${volumeName}'s shared area on ${fileSystemId}` }, [
        { volumeName, fileSystemId, sharedGroup: sharedGroupOf(request) },
      ]),
    (r) => (r.created ? `created access point ${r.accessPointId}` : undefined),
  );
  return result.accessPointId;
}

/** `efs unmount --delete-access-point`: the access point tagged as the volume's shared area, and nothing else. */
export async function deleteSharedAccessPoint(board: ProgressBoard, row: string, request: SharedAreaRequest): Promise<string[]> {
  const { volumeName, fileSystemId } = request;
  return board.step(
    row,
    'deleteSharedAccessPoint',
    () =>
      efsApi.deleteSharedAccessPoint.executeWithOptions({ summary: `delete the access point of ${volumeName}'s shared area on ${fileSystemId}` }, [
        { volumeName, fileSystemId, sharedGroup: sharedGroupOf(request) },
      ]),
    (deleted) => (deleted.length ? `deleted access point ${deleted.join(', ')}` : undefined),
  );
}

/** `efs create --require-access-points`: the policy statements that refuse a mount without an access point. */
export async function requireAccessPoints(board: ProgressBoard, row: string, fileSystemId: string): Promise<FileSystemPolicy> {
  const result = await board.step(
    row,
    'requireAccessPoints',
    () =>
      efsApi.requireAccessPoints.executeWithOptions({ summary: `file system policy of ${fileSystemId}: refuse mounts without an access point` }, [
        { fileSystemId },
      ]),
    (r) => (r.changed ? `file system policy now refuses mounts without an access point` : undefined),
  );
  return result.policy;
}
