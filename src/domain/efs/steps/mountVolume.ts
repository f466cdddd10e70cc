/** Step 4 of mounting: the file system at the mount point, with TLS (and IAM authorization with --iam). */
import { validateAccessPointId } from '../../identity/accessPoint';
import { validateFileSystemId, validateMountPoint } from '../names';
import { CHECK_ACCESS_POINT, CHECK_FS_ID, CHECK_MOUNT_OPTIONS, CHECK_MOUNT_POINT, HAVE_MOUNT_EFS, MOUNTED_FS } from './fragments';
import { body, RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepDefinition, type EfsStepSettings } from './script';

const { conflict: CONFLICT, missingPrerequisite: MISSING } = STEP_EXIT_CODES;
const RETRY = RETRYABLE_EXIT_CODE;

/** The mount options, shared by the mount and its fstab line; efs-utils refuses `iam` without `tls`. */
export function efsMountOptions(settings: Pick<EfsStepSettings, 'iam'>): 'tls' | 'tls,iam' {
  return settings.iam ? 'tls,iam' : 'tls';
}

/** The access point the mount goes through, validated; '' for none. */
export function accessPointInput(settings: Pick<EfsStepSettings, 'accessPointId'>): string {
  return settings.accessPointId === undefined ? '' : validateAccessPointId(settings.accessPointId);
}

/** Every option the mount and its fstab line carry; the shell twin is CHECK_ACCESS_POINT. */
export function fullMountOptions(settings: Pick<EfsStepSettings, 'iam' | 'accessPointId'>): string {
  const accessPoint = accessPointInput(settings);
  return `${efsMountOptions(settings)}${accessPoint ? `,accesspoint=${accessPoint}` : ''}`;
}

/** What the mount and its fstab line are told, each validated here and checked again by MOUNT_INPUT_CHECKS. */
export function mountInputs(settings: EfsStepSettings) {
  return {
    FS_ID: validateFileSystemId(settings.fileSystemId),
    MOUNT_POINT: validateMountPoint(settings.mountPoint),
    MOUNT_OPTIONS: efsMountOptions(settings),
    ACCESS_POINT: accessPointInput(settings),
  };
}

export const MOUNT_INPUT_CHECKS = [CHECK_FS_ID, CHECK_MOUNT_POINT, CHECK_MOUNT_OPTIONS, CHECK_ACCESS_POINT] as const;

export const mountVolume: EfsStepDefinition<'mountVolume'> = {
  name: 'mountVolume',
  summary: (settings, instanceId) =>
    `mount ${settings.fileSystemId} at ${settings.mountPoint} on ${instanceId} with ${settings.iam ? 'TLS and IAM authorization' : 'TLS'}${settings.accessPointId ? ` through access point ${settings.accessPointId}` : ''} (-o ${fullMountOptions(settings)})`,
  exits: {
    badInput: 'FS_ID, MOUNT_POINT, MOUNT_OPTIONS or ACCESS_POINT failed the check in the script',
    conflict: 'another file system (or anything else) is mounted at the mount point, or the mount point is not a directory',
    missingPrerequisite: "mount.efs is missing (installEfsUtils first), or the file system's policy denied the mount",
  },
  inputs: mountInputs,
  body: body(
    ...MOUNT_INPUT_CHECKS,
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
# Ownership comes from prepareLayout (or, through an access point, from EFS): NFS has no group-id mount option.
if ! err=$(mount -t efs -o "$MOUNT_OPTIONS" "$FS_ID:/" "$MOUNT_POINT" 2>&1); then
  printf '%s\\n' "$err" >&2
  case $err in
    *'access denied'*)
      case ,$MOUNT_OPTIONS, in
        *,iam,*) fail ${MISSING} "the file system policy of $FS_ID denied this instance's IAM role (mounted with -o $MOUNT_OPTIONS): grant the role elasticfilesystem:ClientMount (and ClientWrite, ClientRootAccess) in the file system policy or the role's policy" ;;
      esac
      fail ${MISSING} "the file system policy of $FS_ID denied the mount: a policy that requires IAM authorization needs the iam mount option (run again with --iam, which mounts with -o tls,iam) and an instance role granted elasticfilesystem:ClientMount; one that requires access points needs --identity access-point"
      ;;
  esac
  fail ${RETRY} "mount -t efs -o $MOUNT_OPTIONS $FS_ID:/ $MOUNT_POINT failed (new mount targets take a minute or two to resolve): $err"
fi
owner=$(mounted_fs)
[ "$owner" = "$FS_ID" ] || fail ${RETRY} "mount reported success but $MOUNT_POINT holds \${owner:-nothing}, not $FS_ID"
changed "mounted $FS_ID at $MOUNT_POINT with -o $MOUNT_OPTIONS"`,
  ),
};
