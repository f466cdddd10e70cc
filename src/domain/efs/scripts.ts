/**
 * One POSIX sh script per step of mounting an EFS volume on an instance (run through SSM AWS-RunShellScript,
 * as root). Every script:
 *  - receives its inputs as `NAME='value'` assignments at the top (shAssignments), never spliced into code,
 *    and checks them again with `case` patterns: validation in TypeScript is the first wall, quoting the
 *    second, this the third;
 *  - is idempotent: it looks before it changes, and a second run changes nothing;
 *  - reports on stdout with one machine-readable line per fact (parsed by parseStepOutput):
 *      SHAREMOUNT_CHANGED <what>     something was changed
 *      SHAREMOUNT_UNCHANGED <what>   it was already right
 *      SHAREMOUNT_USER <name>        a login user the step acted for
 *      SHAREMOUNT_ERROR <message>    why it stopped (also on stderr)
 *  - exits with one of STEP_EXIT_CODES; any other non-zero code is a failure worth retrying.
 */
import { shAssignments } from '../shell';
import { validateFileSystemId, validateGid, validateGroupName, validateMountPoint, validateUserNames } from './names';

export const STEP_EXIT_CODES = {
  ok: 0,
  /** An input failed the script's own check: a bug or tampering, retrying cannot help. */
  badInput: 64,
  /** The instance holds something that contradicts the request (another group has the GID, a file where a directory must be, a busy mount): an operator must decide. */
  conflict: 65,
  /** Something the step needs is missing (mount.efs not installable, a named user absent): install or fix it first. */
  missingPrerequisite: 66,
} as const;

export const NON_RETRYABLE_EXIT_CODES: readonly number[] = [STEP_EXIT_CODES.badInput, STEP_EXIT_CODES.conflict, STEP_EXIT_CODES.missingPrerequisite];

export type EfsMountStep = 'installEfsUtils' | 'ensureGroup' | 'addUsers' | 'mountVolume' | 'prepareLayout' | 'persistFstab' | 'setUmask';
export type EfsUnmountStep = 'unmountVolume' | 'removeFstabLine';
export type EfsStep = EfsMountStep | EfsUnmountStep;

/** The fstab line is written only after the mount worked, so a broken line never waits for the next boot. */
export const EFS_MOUNT_STEPS: readonly EfsMountStep[] = ['installEfsUtils', 'ensureGroup', 'addUsers', 'mountVolume', 'prepareLayout', 'persistFstab', 'setUmask'];
export const EFS_UNMOUNT_STEPS: readonly EfsUnmountStep[] = ['unmountVolume', 'removeFstabLine'];

export const UMASK_PROFILE_PATH = '/etc/profile.d/sharemount-umask.sh';
export const UMASK_PROFILE_CONTENT = [
  '# Written by sharemount: files created in login shells are group-writable, so members of the shared',
  "# group can edit each other's files on shared volumes (setgid directories give those files the group).",
  'umask 002',
].join('\n');

/**
 * Layout modes. The seed's table, with setgid added on users/ and users/<user>/ so files created there keep
 * the shared group: the root and shared/ are group-writable; users/ is writable by root only, so nobody but
 * this step creates personal directories; users/<user>/ belongs to its user, readable by all, writable by them.
 */
export const LAYOUT_MODES = { root: '2775', shared: '2775', users: '2755', userHome: '2755' } as const;

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const HEX = '0123456789abcdef';
const PATH_CHARS = `${LOWER}${LOWER.toUpperCase()}${DIGITS}._/-`;

const PRELUDE = `set -eu
set -f
changed() { printf 'SHAREMOUNT_CHANGED %s\\n' "$*"; }
unchanged() { printf 'SHAREMOUNT_UNCHANGED %s\\n' "$*"; }
fail() {
  code=$1
  shift
  printf 'SHAREMOUNT_ERROR %s\\n' "$*"
  printf 'sharemount: %s\\n' "$*" >&2
  exit "$code"
}`;

const CHECK_NAME = `check_name() {
  case $2 in
    ''|[!_${LOWER}]*|*[!_${LOWER}${DIGITS}-]*) fail 64 "$1 is not a valid name" ;;
  esac
}`;

const CHECK_USER = `${CHECK_NAME}
check_user() {
  check_name user "$1"
  [ "$1" != root ] || fail 64 "root is never added as a login user"
}`;

const CHECK_MOUNT_POINT = `check_mount_point() {
  case $MOUNT_POINT in
    /*) ;;
    *) fail 64 "the mount point must be an absolute path" ;;
  esac
  case $MOUNT_POINT in
    */|*//*|*/./*|*/../*|*/.|*/..|*[!${PATH_CHARS}]*) fail 64 "the mount point is not a normalised path of safe characters" ;;
  esac
}
check_mount_point`;

const CHECK_FS_ID = `case $FS_ID in
  fs-*) ;;
  *) fail 64 "the file-system id must start with fs-" ;;
esac
case \${FS_ID#fs-} in
  ''|*[!${HEX}]*) fail 64 "the file-system id is not fs- and hex digits" ;;
esac`;

const CHECK_GID = `case $GID in
  ''|*[!${DIGITS}]*) fail 64 "the GID is not a number" ;;
esac`;

/** By mount point, never by source: a TLS mount shows up as 127.0.0.1:/ in the mount table. */
const IS_MOUNTED = `is_mounted() {
  if command -v findmnt >/dev/null 2>&1; then
    findmnt -rn -M "$MOUNT_POINT" >/dev/null 2>&1
  else
    MP=$MOUNT_POINT awk '$5 == ENVIRON["MP"] { found = 1 } END { exit !found }' /proc/self/mountinfo
  fi
}`;

const HAVE_MOUNT_EFS = `have_mount_efs() {
  command -v mount.efs >/dev/null 2>&1 || [ -x /sbin/mount.efs ] || [ -x /usr/sbin/mount.efs ]
}`;

/**
 * Login users: UID between UID_MIN and UID_MAX of /etc/login.defs, a shell listed in /etc/shells that is not
 * nologin/false, a name that passes the user pattern, never root. SSM runs as root, so whoami cannot tell.
 */
const DETECT_LOGIN_USERS = `detect_login_users() {
  uid_min=$(awk '$1 == "UID_MIN" { v = $2 } END { print v }' /etc/login.defs 2>/dev/null || true)
  uid_max=$(awk '$1 == "UID_MAX" { v = $2 } END { print v }' /etc/login.defs 2>/dev/null || true)
  case $uid_min in ''|*[!${DIGITS}]*) uid_min=1000 ;; esac
  case $uid_max in ''|*[!${DIGITS}]*) uid_max=60000 ;; esac
  shells=/etc/shells
  [ -r "$shells" ] || shells=/dev/null
  awk -F: -v min="$uid_min" -v max="$uid_max" -v shells="$shells" '
    BEGIN { while ((getline line < shells) > 0) if (line !~ /^#/ && line != "") { ok[line] = 1; n++ } }
    $1 != "root" && $3 + 0 >= min + 0 && $3 + 0 <= max + 0 && $3 != 65534 && $7 != "" && $7 !~ /(nologin|false)$/ &&
      (n == 0 || ($7 in ok)) && $1 ~ /^[_a-z][_a-z0-9-]*$/ { print $1 }
  ' /etc/passwd | tr '\\n' ' '
}
resolve_users() {
  if [ -z "$USERS" ]; then
    USERS=$(detect_login_users)
    [ -n "$USERS" ] || fail 66 "no login users found (UID >= UID_MIN with a login shell); name them with --user"
  fi
}`;

/** The given users are checked before anything else looks at the instance. */
const CHECK_GIVEN_USERS = `for user in $USERS; do
  check_user "$user"
done`;

function script(step: EfsStep, summary: string, values: Record<string, string | number>, ...parts: string[]): string {
  const assignments = Object.keys(values).length > 0 ? `${shAssignments(values)}\n` : '';
  return [
    '#!/bin/sh',
    `# sharemount step ${step}: ${summary}`,
    '# exit 0 done, 64 bad input, 65 conflict, 66 missing prerequisite; any other code is worth a retry',
    PRELUDE,
    `${assignments}${parts.join('\n')}`,
    '',
  ].join('\n');
}

export function installEfsUtilsScript(): string {
  return script(
    'installEfsUtils',
    'install amazon-efs-utils unless mount.efs is already there',
    {},
    HAVE_MOUNT_EFS,
    `if have_mount_efs; then
  unchanged "amazon-efs-utils is installed (mount.efs found)"
  exit 0
fi
distro=unknown
if [ -r /etc/os-release ]; then
  distro=$(. /etc/os-release && printf '%s' "\${ID:-unknown}\${VERSION_ID:+ \$VERSION_ID}")
fi
build_hint="build amazon-efs-utils from https://github.com/aws/efs-utils for $distro (./build-deb.sh or make rpm) and install it, then run again"
log=/var/log/sharemount-install-efs-utils.log
show_log() { tail -n 20 "$log" >&2 || true; }
if command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then
  pm=dnf
  command -v dnf >/dev/null 2>&1 || pm=yum
  if ! "$pm" -q info amazon-efs-utils >"$log" 2>&1; then
    fail 66 "amazon-efs-utils is not in the $pm repositories of $distro: $build_hint"
  fi
  "$pm" -y install amazon-efs-utils >>"$log" 2>&1 || { show_log; fail 1 "$pm install amazon-efs-utils failed (see $log)"; }
elif command -v apt-get >/dev/null 2>&1; then
  pm=apt-get
  DEBIAN_FRONTEND=noninteractive
  export DEBIAN_FRONTEND
  apt-get update -q >"$log" 2>&1 || { show_log; fail 1 "apt-get update failed (see $log)"; }
  if ! apt-cache show amazon-efs-utils >>"$log" 2>&1; then
    fail 66 "no amazon-efs-utils package for $distro: $build_hint"
  fi
  apt-get install -y -q amazon-efs-utils >>"$log" 2>&1 || { show_log; fail 1 "apt-get install amazon-efs-utils failed (see $log)"; }
else
  fail 66 "no dnf, yum or apt-get on $distro: $build_hint"
fi
have_mount_efs || fail 66 "amazon-efs-utils was installed with $pm but mount.efs is still missing"
changed "installed amazon-efs-utils with $pm"`,
  );
}

export function ensureGroupScript(input: { group: string; gid: number }): string {
  const group = validateGroupName(input.group);
  const gid = validateGid(input.gid);
  return script(
    'ensureGroup',
    `ensure group ${group} with GID ${gid}`,
    { GROUP: group, GID: gid },
    CHECK_NAME,
    'check_name group "$GROUP"',
    CHECK_GID,
    `by_name=$(getent group "$GROUP" | head -n 1 || true)
by_gid=$(getent group "$GID" | head -n 1 || true)
if [ -n "$by_name" ]; then
  name_gid=$(printf '%s\\n' "$by_name" | cut -d: -f3)
  [ "$name_gid" = "$GID" ] || fail 65 "group $GROUP already exists with GID $name_gid, not $GID: pass --gid $name_gid or choose another --group"
  unchanged "group $GROUP has GID $GID"
  exit 0
fi
if [ -n "$by_gid" ]; then
  holder=$(printf '%s\\n' "$by_gid" | cut -d: -f1)
  fail 65 "GID $GID is already held by group $holder: choose another --gid, or --group $holder"
fi
if command -v groupadd >/dev/null 2>&1; then
  groupadd -g "$GID" "$GROUP"
else
  addgroup -g "$GID" "$GROUP"
fi
changed "created group $GROUP with GID $GID"`,
  );
}

/** `users` empty: detect the instance's login users. */
export function addUsersScript(input: { group: string; users: readonly string[] }): string {
  const group = validateGroupName(input.group);
  const users = validateUserNames(input.users);
  return script(
    'addUsers',
    `add ${users.length > 0 ? users.join(', ') : 'the login users'} to group ${group}`,
    { GROUP: group, USERS: users.join(' ') },
    CHECK_USER,
    'check_name group "$GROUP"',
    DETECT_LOGIN_USERS,
    CHECK_GIVEN_USERS,
    `getent group "$GROUP" >/dev/null || fail 66 "group $GROUP does not exist: run ensureGroup first"
resolve_users
for user in $USERS; do
  check_user "$user"
  id -u "$user" >/dev/null 2>&1 || fail 66 "user $user does not exist on this instance"
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
  );
}

export function mountVolumeScript(input: { fileSystemId: string; mountPoint: string }): string {
  const fileSystemId = validateFileSystemId(input.fileSystemId);
  const mountPoint = validateMountPoint(input.mountPoint);
  return script(
    'mountVolume',
    `mount ${fileSystemId} at ${mountPoint} with TLS`,
    { FS_ID: fileSystemId, MOUNT_POINT: mountPoint },
    CHECK_FS_ID,
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    HAVE_MOUNT_EFS,
    `if is_mounted; then
  unchanged "$MOUNT_POINT is mounted"
  exit 0
fi
have_mount_efs || fail 66 "mount.efs is missing: install amazon-efs-utils first"
if [ -L "$MOUNT_POINT" ] || { [ -e "$MOUNT_POINT" ] && [ ! -d "$MOUNT_POINT" ]; }; then
  fail 65 "$MOUNT_POINT exists and is not a directory"
fi
mkdir -p "$MOUNT_POINT"
# Ownership comes from prepareLayout: NFS has no group-id mount option.
mount -t efs -o tls "$FS_ID:/" "$MOUNT_POINT" || fail 1 "mount -t efs -o tls $FS_ID:/ $MOUNT_POINT failed (new mount targets take a minute or two to resolve)"
is_mounted || fail 1 "mount reported success but nothing is mounted at $MOUNT_POINT"
changed "mounted $FS_ID at $MOUNT_POINT with TLS"`,
  );
}

/** `users` empty: detect the instance's login users, as addUsers does. */
export function prepareLayoutScript(input: { mountPoint: string; group: string; users: readonly string[] }): string {
  const mountPoint = validateMountPoint(input.mountPoint);
  const group = validateGroupName(input.group);
  const users = validateUserNames(input.users);
  return script(
    'prepareLayout',
    `set group ${group} and setgid modes on ${mountPoint}, shared/, users/ and users/<user>/`,
    { MOUNT_POINT: mountPoint, GROUP: group, USERS: users.join(' '), MODE_ROOT: LAYOUT_MODES.root, MODE_SHARED: LAYOUT_MODES.shared, MODE_USERS: LAYOUT_MODES.users, MODE_USER_HOME: LAYOUT_MODES.userHome },
    CHECK_USER,
    'check_name group "$GROUP"',
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    DETECT_LOGIN_USERS,
    CHECK_GIVEN_USERS,
    `is_mounted || fail 66 "$MOUNT_POINT is not mounted: run mountVolume first"
gid=$(getent group "$GROUP" | head -n 1 | cut -d: -f3)
[ -n "$gid" ] || fail 66 "group $GROUP does not exist: run ensureGroup first"
root=$(cd -P -- "$MOUNT_POINT" && pwd -P)
# Group members can write the volume: a directory swapped for a symlink must never redirect a root chown or
# chmod. Each change is made on "." after entering the directory and checking where we physically are.
ensure_dir() {
  rel=$1 uid=$2 mode=$3 owner_name=$4
  path=$root\${rel:+/$rel}
  if [ -L "$path" ]; then
    fail 65 "$path is a symbolic link; refusing to change it"
  fi
  # mkdir first, look after: every instance sharing the volume prepares it, often at the same moment, and a
  # directory another one made between our look and our mkdir is no error.
  if err=$(mkdir "$path" 2>&1); then
    created=yes
  elif [ -L "$path" ]; then
    fail 65 "$path is a symbolic link; refusing to change it"
  elif [ -d "$path" ]; then
    created=no
  elif [ -e "$path" ]; then
    fail 65 "$path exists and is not a directory"
  else
    fail 65 "cannot create $path: $err"
  fi
  cd -P -- "$path"
  [ "$(pwd -P)" = "$path" ] || fail 65 "$path moved while it was being prepared"
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
  uid=$(id -u "$user" 2>/dev/null) || fail 66 "user $user does not exist on this instance"
  printf 'SHAREMOUNT_USER %s\\n' "$user"
  ensure_dir "users/$user" "$uid" "$MODE_USER_HOME" "$user"
done`,
  );
}

/** awk that rewrites /etc/fstab from stdin: the mount point's lines are matched by the exact second field. */
const FSTAB_AWK = `function norm(p) { while (length(p) > 1 && substr(p, length(p)) == "/") p = substr(p, 1, length(p) - 1); return p }
/^[ \\t]*#/ || NF < 2 { print; next }
norm($2) == ENVIRON["MP"] {
  if (ENVIRON["ENTRY"] != "" && !done) {
    same = ($1 " " $2 " " $3 " " $4 " " $5 " " $6) == ENVIRON["ENTRY"]
    print (same ? $0 : ENVIRON["ENTRY"])
    done = 1
  }
  next
}
{ print }
END { if (ENVIRON["ENTRY"] != "" && !done) print ENVIRON["ENTRY"] }`;

/** Writes $FSTAB with $ENTRY as the only line for $MOUNT_POINT ($ENTRY empty: none), atomically. */
const REWRITE_FSTAB = `FSTAB=/etc/fstab
tmp=
trap 'rm -f "$tmp"' EXIT
rewrite_fstab() {
  [ -e "$FSTAB" ] || : >"$FSTAB"
  tmp=$(mktemp "$FSTAB.sharemount.XXXXXX")
  MP=$MOUNT_POINT ENTRY=$1 awk '${FSTAB_AWK}' "$FSTAB" >"$tmp"
  if cmp -s "$FSTAB" "$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  chmod 644 "$tmp"
  mv -f "$tmp" "$FSTAB"
  return 0
}`;

export function fstabEntry(fileSystemId: string, mountPoint: string): string {
  return `${validateFileSystemId(fileSystemId)}:/ ${validateMountPoint(mountPoint)} efs _netdev,tls 0 0`;
}

export function persistFstabScript(input: { fileSystemId: string; mountPoint: string }): string {
  const entry = fstabEntry(input.fileSystemId, input.mountPoint);
  return script(
    'persistFstab',
    `make "${entry}" the only /etc/fstab line for ${input.mountPoint}`,
    { FS_ID: input.fileSystemId, MOUNT_POINT: input.mountPoint },
    CHECK_FS_ID,
    CHECK_MOUNT_POINT,
    REWRITE_FSTAB,
    `entry="$FS_ID:/ $MOUNT_POINT efs _netdev,tls 0 0"
if rewrite_fstab "$entry"; then
  changed "wrote /etc/fstab line for $MOUNT_POINT: $entry"
else
  unchanged "/etc/fstab has the line for $MOUNT_POINT"
fi`,
  );
}

export function setUmaskScript(): string {
  return script(
    'setUmask',
    `write umask 002 once to ${UMASK_PROFILE_PATH}`,
    { PROFILE_FILE: UMASK_PROFILE_PATH, PROFILE_CONTENT: UMASK_PROFILE_CONTENT },
    `tmp=
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
changed "wrote $PROFILE_FILE (umask 002)"`,
  );
}

export function unmountVolumeScript(input: { mountPoint: string }): string {
  const mountPoint = validateMountPoint(input.mountPoint);
  return script(
    'unmountVolume',
    `unmount whatever is mounted at ${mountPoint}`,
    { MOUNT_POINT: mountPoint },
    CHECK_MOUNT_POINT,
    IS_MOUNTED,
    `if ! is_mounted; then
  unchanged "$MOUNT_POINT is not mounted"
  exit 0
fi
tries=0
while is_mounted; do
  tries=$((tries + 1))
  [ "$tries" -le 5 ] || fail 65 "$MOUNT_POINT is still mounted after 5 unmounts"
  umount "$MOUNT_POINT" || fail 65 "umount $MOUNT_POINT failed: is it in use? (fuser -vm $MOUNT_POINT shows by whom)"
done
changed "unmounted $MOUNT_POINT"`,
  );
}

export function removeFstabLineScript(input: { mountPoint: string }): string {
  const mountPoint = validateMountPoint(input.mountPoint);
  return script(
    'removeFstabLine',
    `remove the /etc/fstab line for ${mountPoint}; the data stays`,
    { MOUNT_POINT: mountPoint },
    CHECK_MOUNT_POINT,
    REWRITE_FSTAB,
    `if rewrite_fstab ''; then
  changed "removed the /etc/fstab line for $MOUNT_POINT"
else
  unchanged "/etc/fstab has no line for $MOUNT_POINT"
fi`,
  );
}

export interface EfsStepSettings {
  fileSystemId: string;
  mountPoint: string;
  group: string;
  gid: number;
  /** Empty: each step detects the instance's login users itself. */
  users: readonly string[];
}

export function buildStepScript(step: EfsStep, settings: EfsStepSettings): string {
  switch (step) {
    case 'installEfsUtils':
      return installEfsUtilsScript();
    case 'ensureGroup':
      return ensureGroupScript(settings);
    case 'addUsers':
      return addUsersScript(settings);
    case 'mountVolume':
      return mountVolumeScript(settings);
    case 'prepareLayout':
      return prepareLayoutScript(settings);
    case 'persistFstab':
      return persistFstabScript(settings);
    case 'setUmask':
      return setUmaskScript();
    case 'unmountVolume':
      return unmountVolumeScript(settings);
    case 'removeFstabLine':
      return removeFstabLineScript(settings);
  }
}
