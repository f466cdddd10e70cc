/**
 * Step 7 of mounting: umask 002 for the shells people use, written once.
 *  - Login shells (a console, SSH through PAM and sshd's login shell) read /etc/profile, which sources
 *    /etc/profile.d/*.sh.
 *  - Session Manager shells do not: the agent starts a bare `sh` on a pty as ssm-user, with its own environment
 *    plus TERM and HOME (amazon-ssm-agent session/shell/shell_unix.go StartCommandExecutor), so no login and no
 *    /etc/profile. An interactive POSIX sh (dash, bash as sh) reads the file named by $ENV, so a systemd drop-in
 *    gives the agent ENV=<the profile file>; non-interactive shells ignore ENV, so Run Command scripts stay as
 *    they were. The agent reads its environment when it starts: sessions after its next restart get the umask.
 *  - Services get neither: their unit's UMask= decides (README).
 */
import { body, type EfsStepDefinition } from './script';

export const UMASK_PROFILE_PATH = '/etc/profile.d/sharemount-umask.sh';
export const UMASK_PROFILE_CONTENT = [
  '# Written by sharemount: files created in login shells are group-writable, so members of the shared',
  "# group can edit each other's files on shared volumes (setgid directories give those files the group).",
  'umask 002',
].join('\n');

/** The agent's unit: amazon-ssm-agent.service from the RPM and deb, the snap's name on Ubuntu. */
export const SSM_AGENT_UNITS = ['amazon-ssm-agent.service', 'snap.amazon-ssm-agent.amazon-ssm-agent.service'] as const;
export const SSM_AGENT_DROP_IN_NAME = 'sharemount-umask.conf';
export const SSM_AGENT_DROP_IN_CONTENT = [
  '# Written by sharemount: Session Manager shells are interactive sh, which reads $ENV (not /etc/profile).',
  '[Service]',
  `Environment=ENV=${UMASK_PROFILE_PATH}`,
].join('\n');

export function ssmAgentDropInPaths(): string[] {
  return SSM_AGENT_UNITS.map((unit) => `/etc/systemd/system/${unit}.d/${SSM_AGENT_DROP_IN_NAME}`);
}

export const setUmask: EfsStepDefinition<'setUmask'> = {
  name: 'setUmask',
  summary: (_settings, instanceId) =>
    `write umask 002 to ${UMASK_PROFILE_PATH} (login shells, SSH) and ENV for the SSM agent (Session Manager shells) on ${instanceId}`,
  exits: {},
  inputs: () => ({
    PROFILE_FILE: UMASK_PROFILE_PATH,
    PROFILE_CONTENT: UMASK_PROFILE_CONTENT,
    DROP_IN_FILES: ssmAgentDropInPaths().join(' '),
    DROP_IN_CONTENT: SSM_AGENT_DROP_IN_CONTENT,
  }),
  body: body(`tmp=
trap 'rm -f "$tmp"' EXIT
# write_file PATH CONTENT: returns 1 when the file already holds exactly CONTENT.
write_file() {
  dir=$(dirname "$1")
  mkdir -p "$dir"
  tmp=$(mktemp "$dir/.sharemount-umask.XXXXXX")
  printf '%s\\n' "$2" >"$tmp"
  if [ -f "$1" ] && cmp -s "$1" "$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  chmod 644 "$tmp"
  mv -f "$tmp" "$1"
}
if write_file "$PROFILE_FILE" "$PROFILE_CONTENT"; then
  changed "wrote $PROFILE_FILE (umask 002)"
else
  unchanged "$PROFILE_FILE sets umask 002"
fi
agent_changed=no
for file in $DROP_IN_FILES; do
  if write_file "$file" "$DROP_IN_CONTENT"; then
    agent_changed=yes
    changed "wrote $file (Session Manager shells read $PROFILE_FILE after the agent's next restart)"
  else
    unchanged "$file gives Session Manager shells $PROFILE_FILE"
  fi
done
# Only systemd itself is told; restarting the agent here would kill the command that runs this script.
if [ "$agent_changed" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi`),
};
