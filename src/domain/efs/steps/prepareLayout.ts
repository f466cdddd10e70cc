/** Step 5 of mounting: the volume's layout, with the shared group and setgid modes. */
import { validateGroupName, validateMountPoint, validateUserNames } from '../names';
import { CHECK_GIVEN_USERS, DETECT_LOGIN_USERS, ENSURE_DIR, LAYOUT_CHECKS, MOUNTED_LAYOUT, RESOLVE_USERS } from './fragments';
import { body, STEP_EXIT_CODES, usersInWords, type EfsStepDefinition } from './script';

const MISSING = STEP_EXIT_CODES.missingPrerequisite;

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
    LAYOUT_CHECKS,
    DETECT_LOGIN_USERS,
    RESOLVE_USERS,
    CHECK_GIVEN_USERS,
    `${MOUNTED_LAYOUT}
${ENSURE_DIR}
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
