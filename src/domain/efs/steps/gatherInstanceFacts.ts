/**
 * The first step on every instance, and a read-only one: what the instance is (its /etc/os-release), who logs
 * in there (name, UID, GID), whether mount.efs is installed, and whether everything the later steps would make
 * is already there. The workflow reads these facts before anything changes: the install route comes from the
 * os-release, collisions between instances' users from the IDs, and an instance found converged costs this one
 * command (a schedule's re-run must not run every step again on the instances that are already right).
 */
import { validatePeople } from '../identityMode';
import { validateFileSystemId, validateGid, validateGroupName, validateMountPoint, validateUserNames } from '../names';
import { CHECK_FS_ID, CHECK_GID, CHECK_MOUNT_OPTIONS, CHECK_MOUNT_POINT, CHECK_NAME, DETECT_LOGIN_USERS, HAVE_MOUNT_EFS, MOUNTED_FS } from './fragments';
import { efsMountOptions } from './mountVolume';
import { LAYOUT_MODES } from './prepareLayout';
import { body, STEP_EXIT_CODES, type EfsStepDefinition } from './script';
import { UMASK_PROFILE_CONTENT, UMASK_PROFILE_PATH } from './setUmask';

export const gatherInstanceFacts: EfsStepDefinition<'gatherInstanceFacts'> = {
  name: 'gatherInstanceFacts',
  summary: (_settings, instanceId) =>
    `read /etc/os-release, the login users (name, UID, GID), whether mount.efs is installed and whether the volume is already in place on ${instanceId}; change nothing`,
  exits: { badInput: 'FS_ID, MOUNT_POINT, MOUNT_OPTIONS, GROUP, GID or a user name failed the check in the script' },
  inputs: (settings) => ({
    FS_ID: validateFileSystemId(settings.fileSystemId),
    MOUNT_POINT: validateMountPoint(settings.mountPoint),
    MOUNT_OPTIONS: efsMountOptions(settings),
    GROUP: validateGroupName(settings.group),
    GID: validateGid(settings.gid),
    USERS: validateUserNames(settings.users).join(' '),
    // Registry people (--person): an instance is converged only when provisionPeople would change nothing.
    PEOPLE: validatePeople(settings.people ?? [])
      .map((p) => `${p.name}:${p.uid}:${p.gid}`)
      .join(' '),
    MODE_ROOT: LAYOUT_MODES.root,
    MODE_SHARED: LAYOUT_MODES.shared,
    MODE_USER_HOME: LAYOUT_MODES.userHome,
    PROFILE_FILE: UMASK_PROFILE_PATH,
    PROFILE_CONTENT: UMASK_PROFILE_CONTENT,
  }),
  body: body(
    CHECK_FS_ID,
    CHECK_MOUNT_POINT,
    CHECK_MOUNT_OPTIONS,
    CHECK_NAME,
    'check_name group "$GROUP"',
    CHECK_GID,
    `for user in $USERS; do
  check_name user "$user"
done
for entry in $PEOPLE; do
  check_name user "\${entry%%:*}"
  case \${entry#*:} in
    *[!0123456789:]*|:*|*:|*:*:*) fail ${STEP_EXIT_CODES.badInput} "a person is not name:uid:gid" ;;
  esac
done`,
    DETECT_LOGIN_USERS,
    HAVE_MOUNT_EFS,
    MOUNTED_FS,
    // os-release is read as data, never sourced: only ID, VERSION_ID and ID_LIKE, quotes stripped, and only
    // the characters os-release(5) allows in them, so the line stays one machine-readable fact.
    `os_field() {
  [ -r /etc/os-release ] || return 0
  sed -n "s/^$1=//p" /etc/os-release | head -n 1 | tr -d "\\"'" | tr -c 'a-zA-Z0-9._ \\n-' '_'
}
printf 'SHAREMOUNT_FACT os %s|%s|%s\\n' "$(os_field ID)" "$(os_field VERSION_ID)" "$(os_field ID_LIKE)"
login_users=$(detect_login_users)
for user in $login_users; do
  printf 'SHAREMOUNT_FACT user %s %s %s\\n' "$user" "$(id -u "$user")" "$(id -g "$user")"
done
if have_mount_efs; then
  printf 'SHAREMOUNT_FACT mount-efs yes\\n'
else
  printf 'SHAREMOUNT_FACT mount-efs no\\n'
fi`,
    // What each later step would leave behind, looked at and never changed; every difference is one drift line,
    // and only an instance with none is converged.
    `drifted=0
drift() {
  printf 'SHAREMOUNT_FACT drift %s\\n' "$*"
  drifted=1
}
has_mode() {
  [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c '%u %g %a' "$1" 2>/dev/null)" = "$2" ]
}
have_mount_efs || drift "mount.efs is not installed"
[ "$(getent group "$GROUP" | head -n 1 | cut -d: -f3)" = "$GID" ] || drift "group $GROUP with GID $GID is missing"
[ -n "$USERS" ] || USERS=$login_users
[ "$(mounted_fs)" = "$FS_ID" ] || drift "$FS_ID is not mounted at $MOUNT_POINT"
has_mode "$MOUNT_POINT" "0 $GID $MODE_ROOT" || drift "$MOUNT_POINT is not $MODE_ROOT root:$GROUP"
has_mode "$MOUNT_POINT/shared" "0 $GID $MODE_SHARED" || drift "$MOUNT_POINT/shared is not $MODE_SHARED root:$GROUP"
for user in $USERS; do
  id -nG "$user" 2>/dev/null | tr ' ' '\\n' | grep -qx -- "$GROUP" || drift "$user is not in group $GROUP"
  has_mode "$MOUNT_POINT/users/$user" "$(id -u "$user" 2>/dev/null) $GID $MODE_USER_HOME" || drift "$MOUNT_POINT/users/$user is not $MODE_USER_HOME $user:$GROUP"
done
lines=$(MP=$MOUNT_POINT awk '!/^[ \\t]*#/ && NF >= 2 && $2 == ENVIRON["MP"] { print $1 " " $2 " " $3 " " $4 " " $5 " " $6 }' /etc/fstab 2>/dev/null || true)
[ "$lines" = "$FS_ID:/ $MOUNT_POINT efs _netdev,$MOUNT_OPTIONS 0 0" ] || drift "/etc/fstab does not hold exactly one line for $MOUNT_POINT"
printf '%s\\n' "$PROFILE_CONTENT" | cmp -s - "$PROFILE_FILE" || drift "$PROFILE_FILE does not set umask 002"
is_home_of() {
  [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c '%u %a' "$1" 2>/dev/null)" = "$2" ]
}
for entry in $PEOPLE; do
  name=\${entry%%:*}
  rest=\${entry#*:}
  [ "$(id -u "$name" 2>/dev/null):$(id -g "$name" 2>/dev/null)" = "$rest" ] || drift "$name is not $rest"
  id -nG "$name" 2>/dev/null | tr ' ' '\\n' | grep -qx -- "$GROUP" || drift "$name is not in group $GROUP"
  dir=$MOUNT_POINT/users/$name
  is_home_of "$dir" "\${rest%%:*} $MODE_USER_HOME" || drift "$dir is not $MODE_USER_HOME, owned by $name"
done
[ "$drifted" = 1 ] || printf 'SHAREMOUNT_FACT converged yes\\n'`,
  ),
};
