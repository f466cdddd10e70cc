/**
 * After the layout, when the mount names registry people (`--person`): each person exists on the instance with
 * the registry's UID and GID, is in the shared group and has users/<name>/ owned by that UID, so the same
 * person is the same owner on every instance.
 */
import { validatePeople } from '../identityMode';
import { validateGroupName, validateMountPoint } from '../names';
import { ENSURE_DIR, LAYOUT_CHECKS, MOUNTED_LAYOUT } from './fragments';
import { body, STEP_EXIT_CODES, type EfsStepDefinition, type EfsStepSettings } from './script';
import { LAYOUT_MODES } from './prepareLayout';

const { badInput: BAD_INPUT, conflict: CONFLICT, missingPrerequisite: MISSING } = STEP_EXIT_CODES;

function peopleOf(settings: EfsStepSettings) {
  return validatePeople(settings.people ?? []);
}

export const provisionPeople: EfsStepDefinition<'provisionPeople'> = {
  name: 'provisionPeople',
  summary: (settings, instanceId) =>
    `create ${peopleOf(settings)
      .map((p) => `${p.name} (${p.uid}:${p.gid})`)
      .join(', ')} with their registry IDs, in group ${settings.group}, each with users/<name>/ on ${settings.mountPoint}, on ${instanceId}`,
  exits: {
    badInput: 'MOUNT_POINT, GROUP or a person (name:uid:gid) failed the check in the script',
    conflict: "a local account or group holds a person's name with other numbers, or their UID or GID under another name",
    missingPrerequisite: 'nothing mounted or no users/ (mountVolume and prepareLayout first), the shared group missing, or no useradd',
  },
  inputs: (settings) => ({
    MOUNT_POINT: validateMountPoint(settings.mountPoint),
    GROUP: validateGroupName(settings.group),
    PEOPLE: peopleOf(settings)
      .map((p) => `${p.name}:${p.uid}:${p.gid}`)
      .join(' '),
    MODE_USER_HOME: LAYOUT_MODES.userHome,
  }),
  body: body(
    LAYOUT_CHECKS,
    `check_number() {
  case $2 in
    ''|*[!0123456789]*) fail ${BAD_INPUT} "the $1 is not a number" ;;
  esac
}
for entry in $PEOPLE; do
  case $entry in
    *:*:*) ;;
    *) fail ${BAD_INPUT} "a person is not name:uid:gid" ;;
  esac
  check_user "\${entry%%:*}"
  rest=\${entry#*:}
  check_number UID "\${rest%%:*}"
  check_number GID "\${rest#*:}"
done
${MOUNTED_LAYOUT}
command -v useradd >/dev/null 2>&1 || fail ${MISSING} "useradd is missing: install the distribution's shadow utilities (passwd or shadow-utils)"
[ -d "$root/users" ] || fail ${MISSING} "$root/users is missing: run prepareLayout first"
${ENSURE_DIR}
# Looked up by name and by number: either one held by someone else means files would change hands.
ensure_person_group() {
  name=$1 pgid=$2
  held=$(getent group "$name" | head -n 1 | cut -d: -f3)
  if [ -n "$held" ]; then
    [ "$held" = "$pgid" ] || fail ${CONFLICT} "group $name exists with GID $held, but the registry gives $name GID $pgid: rename or renumber the local group"
    return 0
  fi
  holder=$(getent group "$pgid" | head -n 1 | cut -d: -f1)
  [ -z "$holder" ] || fail ${CONFLICT} "GID $pgid of $name is already held by group $holder: renumber $holder, or remove it"
  groupadd -g "$pgid" "$name"
  changed "created group $name with GID $pgid"
}
ensure_person() {
  name=$1 uid=$2 pgid=$3
  held=$(getent passwd "$name" | head -n 1 | cut -d: -f3)
  if [ -n "$held" ]; then
    [ "$held" = "$uid" ] || fail ${CONFLICT} "user $name exists with UID $held, but the registry gives $name UID $uid: renumber the local account (usermod -u $uid $name) or remove it"
    unchanged "user $name has UID $uid"
    return 0
  fi
  holder=$(getent passwd "$uid" | head -n 1 | cut -d: -f1)
  [ -z "$holder" ] || fail ${CONFLICT} "UID $uid of $name is already held by user $holder: renumber $holder, or remove it"
  useradd -m -u "$uid" -g "$pgid" -s /bin/bash "$name"
  changed "created user $name with UID $uid and GID $pgid"
}
for entry in $PEOPLE; do
  name=\${entry%%:*}
  rest=\${entry#*:}
  uid=\${rest%%:*}
  pgid=\${rest#*:}
  ensure_person_group "$name" "$pgid"
  ensure_person "$name" "$uid" "$pgid"
  printf 'SHAREMOUNT_USER %s\\n' "$name"
  if id -nG "$name" | tr ' ' '\\n' | grep -qxF "$GROUP"; then
    unchanged "$name is in group $GROUP"
  else
    usermod -a -G "$GROUP" "$name"
    changed "added $name to group $GROUP"
  fi
  ensure_dir "users/$name" "$uid" "$MODE_USER_HOME" "$name"
done`,
  ),
};
