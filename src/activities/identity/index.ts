import type { EFSClient } from '@aws-sdk/client-efs';
import { ApplicationFailure } from '@temporalio/common';
import { sharedAreaAccessPoint } from '../../domain/identity/accessPoint';
import type { RegistryConfig } from '../../domain/identity/config';
import { AccessPointMismatchError, deleteAccessPoint, ensureAccessPoint, requireAccessPoints, stopRequiringAccessPoints } from '../../host/aws/accessPoints';
import { awsStep } from '../efs/failures';

export interface IdentityActivityDeps {
  efs: EFSClient;
}

export interface SharedAreaInput {
  volumeName: string;
  fileSystemId: string;
  sharedGroup: RegistryConfig['sharedGroup'];
}

/** A mismatched access point stays mismatched however often it is retried. */
async function identityStep<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await awsStep(call);
  } catch (error) {
    if (error instanceof AccessPointMismatchError) throw ApplicationFailure.create({ message: error.message, type: error.name, nonRetryable: true });
    throw error;
  }
}

/**
 * The EFS side of access-point mode, one idempotent effect each: the shared area's access point (found by tag
 * before one is created) and the file system policy that refuses mounts without an access point.
 */
export function createIdentityActivities(deps: IdentityActivityDeps) {
  const { efs } = deps;
  return {
    ensureSharedAccessPoint: (input: SharedAreaInput) =>
      identityStep(() => ensureAccessPoint(efs, sharedAreaAccessPoint(input.volumeName, input.fileSystemId, input.sharedGroup))),
    /** Deletes only the access point tagged as the volume's shared area; returns what it deleted. */
    deleteSharedAccessPoint: (input: SharedAreaInput) =>
      identityStep(() => deleteAccessPoint(efs, sharedAreaAccessPoint(input.volumeName, input.fileSystemId, input.sharedGroup))),
    requireAccessPoints: (input: { fileSystemId: string }) => identityStep(() => requireAccessPoints(efs, input.fileSystemId)),
    stopRequiringAccessPoints: (input: { fileSystemId: string }) => identityStep(() => stopRequiringAccessPoints(efs, input.fileSystemId)),
  };
}
