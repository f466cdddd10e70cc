/** Step 4 of mounting: the file system at the mount point, with TLS. */
import { validateFileSystemId, validateMountPoint } from '../names';
import { CHECK_FS_ID, CHECK_MOUNT_POINT, HAVE_MOUNT_EFS, IS_MOUNTED } from './fragments';
import { body, RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepDefinition } from './script';

const { conflict: CONFLICT, missingPrerequisite: MISSING } = STEP_EXIT_CODES;
const RETRY = RETRYABLE_EXIT_CODE;

export const mountVolume: EfsStepDefinition<'mountVolume'> = {
  name: 'mountVolume',
  summary: (settings, instanceId) => `mount ${settings.fileSystemId} at ${settings.mountPoint} on ${instanceId} with TLS`,
  exits: {
    badInput: 'FS_ID or MOUNT_POINT failed the check in the script',
    conflict: 'the mount point exists and is not a directory',
    missingPrerequisite: 'mount.efs is missing (installEfsUtils first)',
  },
  inputs: (settings) => ({ FS_ID: validateFileSystemId(settings.fileSystemId), MOUNT_POINT: validateMountPoint(settings.mountPoint) }),
  body: body(
    CHECK_FS_ID,
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    HAVE_MOUNT_EFS,
    `if is_mounted; then
  unchanged "$MOUNT_POINT is mounted"
  exit 0
fi
have_mount_efs || fail ${MISSING} "mount.efs is missing: install amazon-efs-utils first"
if [ -L "$MOUNT_POINT" ] || { [ -e "$MOUNT_POINT" ] && [ ! -d "$MOUNT_POINT" ]; }; then
  fail ${CONFLICT} "$MOUNT_POINT exists and is not a directory"
fi
mkdir -p "$MOUNT_POINT"
# Ownership comes from prepareLayout: NFS has no group-id mount option.
mount -t efs -o tls "$FS_ID:/" "$MOUNT_POINT" || fail ${RETRY} "mount -t efs -o tls $FS_ID:/ $MOUNT_POINT failed (new mount targets take a minute or two to resolve)"
is_mounted || fail ${RETRY} "mount reported success but nothing is mounted at $MOUNT_POINT"
changed "mounted $FS_ID at $MOUNT_POINT with TLS"`,
  ),
};
