/** Step 3 of mounting: the instance's login users (or the named ones) join the shared group. */
import { validateGroupName, validateUserNames } from '../names';
import { CHECK_GIVEN_USERS, CHECK_USER, DETECT_LOGIN_USERS, RESOLVE_USERS } from './fragments';
import { body, STEP_EXIT_CODES, usersInWords, type EfsStepDefinition } from './script';

const MISSING = STEP_EXIT_CODES.missingPrerequisite;

/** USERS empty: the script detects the instance's login users. */
export const addUsers: EfsStepDefinition<'addUsers'> = {
  name: 'addUsers',
  summary: (settings, instanceId) => `add ${usersInWords(settings)} to group ${settings.group} on ${instanceId}`,
  exits: {
    badInput: 'GROUP or a user name failed the check in the script, or root was named',
    missingPrerequisite: 'the group is missing (ensureGroup first), a named user does not exist, or no login user was found',
  },
  inputs: (settings) => ({ GROUP: validateGroupName(settings.group), USERS: validateUserNames(settings.users).join(' ') }),
  body: body(
    CHECK_USER,
    'check_name group "$GROUP"',
    DETECT_LOGIN_USERS,
    RESOLVE_USERS,
    CHECK_GIVEN_USERS,
    `getent group "$GROUP" >/dev/null || fail ${MISSING} "group $GROUP does not exist: run ensureGroup first"
resolve_users
for user in $USERS; do
  check_user "$user"
  id -u "$user" >/dev/null 2>&1 || fail ${MISSING} "user $user does not exist on this instance"
  printf 'SHAREMOUNT_USER %s\\n' "$user"
  if id -nG "$user" | tr ' ' '\\n' | grep -qxF "$GROUP"; then
    unchanged "$user is in group $GROUP"
    continue
  fi
  if command -v usermod >/dev/null 2>&1; then
    usermod -a -G "$GROUP" "$user"
  else
    addgroup "$user" "$GROUP"
  fi
  changed "added $user to group $GROUP"
done`,
  ),
};
