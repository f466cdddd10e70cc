/** Step 6 of mounting: exactly one /etc/fstab line for the mount point, written only after the mount worked. */
import { validateFileSystemId, validateMountPoint } from '../names';
import { REWRITE_FSTAB } from './fragments';
import { fullMountOptions, MOUNT_INPUT_CHECKS, mountInputs } from './mountVolume';
import { body, type EfsStepDefinition, type EfsStepSettings } from './script';

/** The line the script writes; its shell twin is the body's `entry=`. */
export function fstabEntry(settings: Pick<EfsStepSettings, 'fileSystemId' | 'mountPoint' | 'iam' | 'accessPointId'>): string {
  return `${validateFileSystemId(settings.fileSystemId)}:/ ${validateMountPoint(settings.mountPoint)} efs _netdev,${fullMountOptions(settings)} 0 0`;
}

export const persistFstab: EfsStepDefinition<'persistFstab'> = {
  name: 'persistFstab',
  summary: (settings, instanceId) => `persist ${settings.fileSystemId} at ${settings.mountPoint} in /etc/fstab on ${instanceId}`,
  exits: { badInput: 'FS_ID, MOUNT_POINT, MOUNT_OPTIONS or ACCESS_POINT failed the check in the script' },
  inputs: mountInputs,
  body: body(
    ...MOUNT_INPUT_CHECKS,
    REWRITE_FSTAB,
    `entry="$FS_ID:/ $MOUNT_POINT efs _netdev,$MOUNT_OPTIONS 0 0"
if rewrite_fstab "$entry"; then
  changed "wrote /etc/fstab line for $MOUNT_POINT: $entry"
else
  unchanged "/etc/fstab has the line for $MOUNT_POINT"
fi`,
  ),
};
