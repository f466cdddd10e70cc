/**
 * The first step on every instance, and a read-only one: what the instance is (its /etc/os-release), who logs
 * in there (name, UID, GID) and whether mount.efs is installed. The workflow reads these facts before anything
 * changes: the install route comes from the os-release, and collisions between instances' users from the IDs.
 */
import { DETECT_LOGIN_USERS, HAVE_MOUNT_EFS } from './fragments';
import { body, type EfsStepDefinition } from './script';

export const gatherInstanceFacts: EfsStepDefinition<'gatherInstanceFacts'> = {
  name: 'gatherInstanceFacts',
  summary: (_settings, instanceId) =>
    `read /etc/os-release, the login users (name, UID, GID) and whether mount.efs is installed on ${instanceId}; change nothing`,
  exits: {},
  inputs: () => ({}),
  body: body(
    DETECT_LOGIN_USERS,
    HAVE_MOUNT_EFS,
    // os-release is read as data, never sourced: only ID, VERSION_ID and ID_LIKE, quotes stripped, and only
    // the characters os-release(5) allows in them, so the line stays one machine-readable fact.
    `os_field() {
  [ -r /etc/os-release ] || return 0
  sed -n "s/^$1=//p" /etc/os-release | head -n 1 | tr -d "\\"'" | tr -c 'a-zA-Z0-9._ \\n-' '_'
}
printf 'SHAREMOUNT_FACT os %s|%s|%s\\n' "$(os_field ID)" "$(os_field VERSION_ID)" "$(os_field ID_LIKE)"
for user in $(detect_login_users); do
  printf 'SHAREMOUNT_FACT user %s %s %s\\n' "$user" "$(id -u "$user")" "$(id -g "$user")"
done
if have_mount_efs; then
  printf 'SHAREMOUNT_FACT mount-efs yes\\n'
else
  printf 'SHAREMOUNT_FACT mount-efs no\\n'
fi`,
  ),
};
