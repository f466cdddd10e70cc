/** Step 5 of mounting: the volume's layout, with the shared group and setgid modes. */
import { validateGroupName, validateMountPoint, validateUserNames } from '../names';
import { CHECK_GIVEN_USERS, CHECK_MOUNT_POINT, CHECK_USER, DETECT_LOGIN_USERS, IS_MOUNTED, RESOLVE_USERS } from './fragments';
import { body, STEP_EXIT_CODES, usersInWords, type EfsStepDefinition } from './script';

const { conflict: CONFLICT, missingPrerequisite: MISSING } = STEP_EXIT_CODES;

/**
 * Layout modes. The seed's table, with setgid added on users/ and users/<user>/ so files created there keep
 * the shared group: the root and shared/ are group-writable; users/ is writable by root only, so nobody but
 * this step creates personal directories; users/<user>/ belongs to its user, readable by all, writable by them.
 */
export const LAYOUT_MODES = { root: '2775', shared: '2775', users: '2755', userHome: '2755' } as const;

/** USERS empty: the script detects the instance's login users, as addUsers does. */
export const prepareLayout: EfsStepDefinition<'prepareLayout'> = {
  name: 'prepareLayout',
  summary: (settings, instanceId) =>
    `set ${LAYOUT_MODES.root} and group ${settings.group} on ${settings.mountPoint}, shared/, users/ and users/<user>/ for ${usersInWords(settings)} on ${instanceId}`,
  exits: {
    badInput: 'MOUNT_POINT, GROUP or a user name failed the check in the script, or root was named',
    conflict: 'a symbolic link or a file where a directory belongs, or a directory that moved while it was prepared',
    missingPrerequisite: 'nothing mounted (mountVolume first), the group missing (ensureGroup first), a named user absent, or no login user found',
  },
  inputs: (settings) => ({
    MOUNT_POINT: validateMountPoint(settings.mountPoint),
    GROUP: validateGroupName(settings.group),
    USERS: validateUserNames(settings.users).join(' '),
    MODE_ROOT: LAYOUT_MODES.root,
    MODE_SHARED: LAYOUT_MODES.shared,
    MODE_USERS: LAYOUT_MODES.users,
    MODE_USER_HOME: LAYOUT_MODES.userHome,
  }),
  body: body(
    CHECK_USER,
    'check_name group "$GROUP"',
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    DETECT_LOGIN_USERS,
    RESOLVE_USERS,
    CHECK_GIVEN_USERS,
    `is_mounted || fail ${MISSING} "$MOUNT_POINT is not mounted: run mountVolume first"
gid=$(getent group "$GROUP" | head -n 1 | cut -d: -f3)
[ -n "$gid" ] || fail ${MISSING} "group $GROUP does not exist: run ensureGroup first"
root=$(cd -P -- "$MOUNT_POINT" && pwd -P)
# Group members can write the volume: a directory swapped for a symlink must never redirect a root chown or
# chmod. Each change is made on "." after entering the directory and checking where we physically are.
ensure_dir() {
  rel=$1 uid=$2 mode=$3 owner_name=$4
  path=$root\${rel:+/$rel}
  if [ -L "$path" ]; then
    fail ${CONFLICT} "$path is a symbolic link; refusing to change it"
  fi
  # mkdir first, look after: every instance sharing the volume prepares it, often at the same moment, and a
  # directory another one made between our look and our mkdir is no error.
  if err=$(mkdir "$path" 2>&1); then
    created=yes
  elif [ -L "$path" ]; then
    fail ${CONFLICT} "$path is a symbolic link; refusing to change it"
  elif [ -d "$path" ]; then
    created=no
  elif [ -e "$path" ]; then
    fail ${CONFLICT} "$path exists and is not a directory"
  else
    fail ${CONFLICT} "cannot create $path: $err"
  fi
  cd -P -- "$path"
  [ "$(pwd -P)" = "$path" ] || fail ${CONFLICT} "$path moved while it was being prepared"
  before=$(stat -c '%u %g %a' .)
  [ "$before" = "$uid $gid $mode" ] || { chown "$uid:$gid" .; chmod "$mode" .; }
  cd /
  if [ "$created" = yes ]; then
    changed "created $path ($mode $owner_name:$GROUP)"
  elif [ "$before" != "$uid $gid $mode" ]; then
    changed "set $path to $mode $owner_name:$GROUP (was uid/gid/mode $before)"
  else
    unchanged "$path is $mode $owner_name:$GROUP"
  fi
}
resolve_users
ensure_dir '' 0 "$MODE_ROOT" root
ensure_dir shared 0 "$MODE_SHARED" root
ensure_dir users 0 "$MODE_USERS" root
for user in $USERS; do
  check_user "$user"
  uid=$(id -u "$user" 2>/dev/null) || fail ${MISSING} "user $user does not exist on this instance"
  printf 'SHAREMOUNT_USER %s\\n' "$user"
  ensure_dir "users/$user" "$uid" "$MODE_USER_HOME" "$user"
done`,
  ),
};
