/** Step 1 of unmounting: whatever is mounted at the mount point comes off. */
import { validateMountPoint } from '../names';
import { CHECK_MOUNT_POINT, IS_MOUNTED } from './fragments';
import { body, STEP_EXIT_CODES, type EfsStepDefinition } from './script';

const CONFLICT = STEP_EXIT_CODES.conflict;

export const unmountVolume: EfsStepDefinition<'unmountVolume'> = {
  name: 'unmountVolume',
  summary: (settings, instanceId) => `unmount ${settings.mountPoint} on ${instanceId}`,
  exits: {
    badInput: 'MOUNT_POINT failed the check in the script',
    conflict: 'umount failed (the volume is in use) or it stays mounted after 5 tries',
  },
  inputs: (settings) => ({ MOUNT_POINT: validateMountPoint(settings.mountPoint) }),
  body: body(
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    `if ! is_mounted; then
  unchanged "$MOUNT_POINT is not mounted"
  exit 0
fi
tries=0
while is_mounted; do
  tries=$((tries + 1))
  [ "$tries" -le 5 ] || fail ${CONFLICT} "$MOUNT_POINT is still mounted after 5 unmounts"
  umount "$MOUNT_POINT" || fail ${CONFLICT} "umount $MOUNT_POINT failed: is it in use? (fuser -vm $MOUNT_POINT shows by whom)"
done
changed "unmounted $MOUNT_POINT"`,
  ),
};
