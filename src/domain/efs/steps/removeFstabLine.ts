/** Step 2 of unmounting: the mount point's /etc/fstab line goes; the data stays. */
import { validateMountPoint } from '../names';
import { CHECK_MOUNT_POINT, REWRITE_FSTAB } from './fragments';
import { body, type EfsStepDefinition } from './script';

export const removeFstabLine: EfsStepDefinition<'removeFstabLine'> = {
  name: 'removeFstabLine',
  summary: (settings, instanceId) => `remove the /etc/fstab line for ${settings.mountPoint} on ${instanceId} (data stays)`,
  exits: { badInput: 'MOUNT_POINT failed the check in the script' },
  inputs: (settings) => ({ MOUNT_POINT: validateMountPoint(settings.mountPoint) }),
  body: body(
    CHECK_MOUNT_POINT,
    REWRITE_FSTAB,
    `if rewrite_fstab ''; then
  changed "removed the /etc/fstab line for $MOUNT_POINT"
else
  unchanged "/etc/fstab has no line for $MOUNT_POINT"
fi`,
  ),
};
