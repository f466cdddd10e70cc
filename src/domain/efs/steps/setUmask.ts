/** Step 7 of mounting: umask 002 for login shells, written once. */
import { body, type EfsStepDefinition } from './script';

export const UMASK_PROFILE_PATH = '/etc/profile.d/sharemount-umask.sh';
export const UMASK_PROFILE_CONTENT = [
  '# Written by sharemount: files created in login shells are group-writable, so members of the shared',
  "# group can edit each other's files on shared volumes (setgid directories give those files the group).",
  'umask 002',
].join('\n');

export const setUmask: EfsStepDefinition<'setUmask'> = {
  name: 'setUmask',
  summary: (_settings, instanceId) => `write umask 002 to ${UMASK_PROFILE_PATH} on ${instanceId}`,
  exits: {},
  inputs: () => ({ PROFILE_FILE: UMASK_PROFILE_PATH, PROFILE_CONTENT: UMASK_PROFILE_CONTENT }),
  body: body(`tmp=
trap 'rm -f "$tmp"' EXIT
dir=$(dirname "$PROFILE_FILE")
mkdir -p "$dir"
tmp=$(mktemp "$dir/.sharemount-umask.XXXXXX")
printf '%s\\n' "$PROFILE_CONTENT" >"$tmp"
if [ -f "$PROFILE_FILE" ] && cmp -s "$PROFILE_FILE" "$tmp"; then
  unchanged "$PROFILE_FILE sets umask 002"
  exit 0
fi
chmod 644 "$tmp"
mv -f "$tmp" "$PROFILE_FILE"
changed "wrote $PROFILE_FILE (umask 002)"`),
};
