/** Step 4 of mounting: the file system at the mount point, with TLS (and IAM authorization with --iam). */
import { validateFileSystemId, validateMountPoint } from '../names';
import { CHECK_FS_ID, CHECK_MOUNT_OPTIONS, CHECK_MOUNT_POINT, HAVE_MOUNT_EFS, MOUNTED_FS } from './fragments';
import { body, RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepDefinition, type EfsStepSettings } from './script';

const { conflict: CONFLICT, missingPrerequisite: MISSING } = STEP_EXIT_CODES;
const RETRY = RETRYABLE_EXIT_CODE;

/** The mount options, shared by the mount and its fstab line; efs-utils refuses `iam` without `tls`. */
export function efsMountOptions(settings: Pick<EfsStepSettings, 'iam'>): 'tls' | 'tls,iam' {
  return settings.iam ? 'tls,iam' : 'tls';
}

export const mountVolume: EfsStepDefinition<'mountVolume'> = {
  name: 'mountVolume',
  summary: (settings, instanceId) =>
    `mount ${settings.fileSystemId} at ${settings.mountPoint} on ${instanceId} with ${settings.iam ? 'TLS and IAM authorization (-o tls,iam)' : 'TLS (-o tls)'}`,
  exits: {
    badInput: 'FS_ID, MOUNT_POINT or MOUNT_OPTIONS failed the check in the script',
    conflict: 'another file system (or anything else) is mounted at the mount point, or the mount point is not a directory',
    missingPrerequisite: "mount.efs is missing (installEfsUtils first), or the file system's policy denied the mount",
  },
  inputs: (settings) => ({
    FS_ID: validateFileSystemId(settings.fileSystemId),
    MOUNT_POINT: validateMountPoint(settings.mountPoint),
    MOUNT_OPTIONS: efsMountOptions(settings),
  }),
  body: body(
    CHECK_FS_ID,
    CHECK_MOUNT_POINT,
    CHECK_MOUNT_OPTIONS,
    MOUNTED_FS,
    HAVE_MOUNT_EFS,
    `owner=$(mounted_fs)
if [ "$owner" = "$FS_ID" ]; then
  unchanged "$FS_ID is mounted at $MOUNT_POINT"
  exit 0
fi
[ -z "$owner" ] || fail ${CONFLICT} "$MOUNT_POINT already holds $owner, not $FS_ID: unmount it there, or choose another --mount-point"
have_mount_efs || fail ${MISSING} "mount.efs is missing: install amazon-efs-utils first"
if [ -L "$MOUNT_POINT" ] || { [ -e "$MOUNT_POINT" ] && [ ! -d "$MOUNT_POINT" ]; }; then
  fail ${CONFLICT} "$MOUNT_POINT exists and is not a directory"
fi
mkdir -p "$MOUNT_POINT"
# Ownership comes from prepareLayout: NFS has no group-id mount option.
if ! err=$(mount -t efs -o "$MOUNT_OPTIONS" "$FS_ID:/" "$MOUNT_POINT" 2>&1); then
  printf '%s\\n' "$err" >&2
  case $err in
    *'access denied'*)
      if [ "$MOUNT_OPTIONS" = tls,iam ]; then
        fail ${MISSING} "the file system policy of $FS_ID denied this instance's IAM role (mounted with -o tls,iam): grant the role elasticfilesystem:ClientMount (and ClientWrite, ClientRootAccess) in the file system policy or the role's policy"
      fi
      fail ${MISSING} "the file system policy of $FS_ID denied the mount: a policy that requires IAM authorization needs the iam mount option (run again with --iam, which mounts with -o tls,iam) and an instance role granted elasticfilesystem:ClientMount"
      ;;
  esac
  fail ${RETRY} "mount -t efs -o $MOUNT_OPTIONS $FS_ID:/ $MOUNT_POINT failed (new mount targets take a minute or two to resolve): $err"
fi
owner=$(mounted_fs)
[ "$owner" = "$FS_ID" ] || fail ${RETRY} "mount reported success but $MOUNT_POINT holds \${owner:-nothing}, not $FS_ID"
changed "mounted $FS_ID at $MOUNT_POINT with -o $MOUNT_OPTIONS"`,
  ),
};
