/**
 * Shell functions and checks that more than one step's script uses. Each is a constant: values reach the
 * scripts only through their assignments (script.ts).
 */
import { STEP_EXIT_CODES } from './script';

const BAD_INPUT = STEP_EXIT_CODES.badInput;
const MISSING = STEP_EXIT_CODES.missingPrerequisite;

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const HEX = '0123456789abcdef';
const PATH_CHARS = `${LOWER}${LOWER.toUpperCase()}${DIGITS}._/-`;

/** The shell twin of validateGroupName / validateUserName's pattern. */
export const CHECK_NAME = `check_name() {
  case $2 in
    ''|[!_${LOWER}]*|*[!_${LOWER}${DIGITS}-]*) fail ${BAD_INPUT} "$1 is not a valid name" ;;
  esac
}`;

export const CHECK_USER = `${CHECK_NAME}
check_user() {
  check_name user "$1"
  [ "$1" != root ] || fail ${BAD_INPUT} "root is never added as a login user"
}`;

/** The shell twin of validateMountPoint. */
export const CHECK_MOUNT_POINT = `check_mount_point() {
  case $MOUNT_POINT in
    /*) ;;
    *) fail ${BAD_INPUT} "the mount point must be an absolute path" ;;
  esac
  case $MOUNT_POINT in
    */|*//*|*/./*|*/../*|*/.|*/..|*[!${PATH_CHARS}]*) fail ${BAD_INPUT} "the mount point is not a normalised path of safe characters" ;;
  esac
}
check_mount_point`;

/** The shell twin of validateFileSystemId. */
export const CHECK_FS_ID = `case $FS_ID in
  fs-*) ;;
  *) fail ${BAD_INPUT} "the file-system id must start with fs-" ;;
esac
case \${FS_ID#fs-} in
  ''|*[!${HEX}]*) fail ${BAD_INPUT} "the file-system id is not fs- and hex digits" ;;
esac`;

export const CHECK_GID = `case $GID in
  ''|*[!${DIGITS}]*) fail ${BAD_INPUT} "the GID is not a number" ;;
esac`;

/** By mount point, never by source: a TLS mount shows up as 127.0.0.1:/ in the mount table. */
export const IS_MOUNTED = `is_mounted() {
  if command -v findmnt >/dev/null 2>&1; then
    findmnt -rn -M "$MOUNT_POINT" >/dev/null 2>&1
  else
    MP=$MOUNT_POINT awk '$5 == ENVIRON["MP"] { found = 1 } END { exit !found }' /proc/self/mountinfo
  fi
}`;

/** The shell twin of efsMountOptions: tls, or tls,iam (efs-utils refuses iam without tls). */
export const CHECK_MOUNT_OPTIONS = `case $MOUNT_OPTIONS in
  tls|tls,iam) ;;
  *) fail ${BAD_INPUT} "the mount options are not tls or tls,iam" ;;
esac`;

/**
 * mounted_fs prints what is mounted at $MOUNT_POINT: nothing when nothing is, the file-system ID when it is an
 * EFS mount sharemount can attribute, else words naming what is there. A TLS mount shows up as 127.0.0.1:/ with
 * the local port of its TLS tunnel, so which file system it is lives only in efs-utils' state file
 * /var/run/efs/<fs-id>.<mount point with / as .>.<port> (efs_utils_common proxy.get_mount_specific_filename and
 * file_utils.get_file_safe_mountpoint_name; the "~" copy is a mount still in progress), whose JSON names the
 * mount point. Only a 127.0.0.1 mount is looked up there: the watchdog keeps a state file for a while after its
 * unmount, which must not name what a later plain mount holds. A plain NFS mount names the file system in its
 * source (<fs-id>.efs.<region>.amazonaws.com:/). Real TLS mounts always carry port=; without it (the test
 * stand-in's bind mounts) every port matches.
 */
export const MOUNTED_FS = `mounted_fs() {
  found=$(MP=$MOUNT_POINT awk '$5 == ENVIRON["MP"] { for (i = 7; i <= NF; i++) if ($i == "-") m = $(i + 1) " " $(i + 2) " " $(i + 3) } END { print m }' /proc/self/mountinfo)
  [ -n "$found" ] || return 0
  fstype=\${found%% *}
  rest=\${found#* }
  source=\${rest%% *}
  options=\${rest#* }
  port=$(printf ',%s,' "$options" | sed -n 's/.*,port=\\([0-9][0-9]*\\),.*/\\1/p')
  safe=$(printf '%s' "$MOUNT_POINT" | tr / . | sed 's/^[.]*//')
  case $source in
    127.0.0.1:*)
      tls_fs=$(find /var/run/efs -maxdepth 1 -type f -name "fs-*.$safe.\${port:-*}" 2>/dev/null | while IFS= read -r state; do
        if grep -qF "\\"mountpoint\\": \\"$MOUNT_POINT\\"" "$state"; then
          name=\${state##*/}
          printf '%s\\n' "\${name%%.*}"
          break
        fi
      done)
      if [ -n "$tls_fs" ]; then
        printf '%s\\n' "$tls_fs"
        return 0
      fi
      ;;
  esac
  case $source in
    "$FS_ID".efs.*:/*) printf '%s\\n' "$FS_ID" ;;
    127.0.0.1:*) printf 'a TLS mount (%s) that efs-utils keeps no state for under /var/run/efs\\n' "$source" ;;
    *) printf '%s (%s)\\n' "$source" "$fstype" ;;
  esac
}`;

export const HAVE_MOUNT_EFS = `have_mount_efs() {
  command -v mount.efs >/dev/null 2>&1 || [ -x /sbin/mount.efs ] || [ -x /usr/sbin/mount.efs ]
}`;

/**
 * Login users: UID between UID_MIN and UID_MAX of /etc/login.defs, a shell listed in /etc/shells that is not
 * nologin/false, a name that passes the user pattern, never root. SSM runs as root, so whoami cannot tell.
 * Never ssm-user either: the SSM agent creates it for Session Manager with a plain `useradd -m ssm-user`
 * (amazon-ssm-agent's session/utility CreateLocalAdminUser, AddUserCommand), so its UID and shell look like
 * a person's and only its name tells it apart.
 */
export const DETECT_LOGIN_USERS = `detect_login_users() {
  uid_min=$(awk '$1 == "UID_MIN" { v = $2 } END { print v }' /etc/login.defs 2>/dev/null || true)
  uid_max=$(awk '$1 == "UID_MAX" { v = $2 } END { print v }' /etc/login.defs 2>/dev/null || true)
  case $uid_min in ''|*[!${DIGITS}]*) uid_min=1000 ;; esac
  case $uid_max in ''|*[!${DIGITS}]*) uid_max=60000 ;; esac
  shells=/etc/shells
  [ -r "$shells" ] || shells=/dev/null
  awk -F: -v min="$uid_min" -v max="$uid_max" -v shells="$shells" '
    BEGIN { while ((getline line < shells) > 0) if (line !~ /^#/ && line != "") { ok[line] = 1; n++ } }
    $1 != "root" && $1 != "ssm-user" && $3 + 0 >= min + 0 && $3 + 0 <= max + 0 && $3 != 65534 && $7 != "" && $7 !~ /(nologin|false)$/ &&
      (n == 0 || ($7 in ok)) && $1 ~ /^[_a-z][_a-z0-9-]*$/ { print $1 }
  ' /etc/passwd | tr '\\n' ' '
}`;

/** resolve_users fills an empty $USERS with the detected login users (DETECT_LOGIN_USERS). */
export const RESOLVE_USERS = `resolve_users() {
  if [ -z "$USERS" ]; then
    USERS=$(detect_login_users)
    [ -n "$USERS" ] || fail ${MISSING} "no login users found (UID >= UID_MIN with a login shell); name them with --user"
  fi
}`;

/** The given users are checked before anything else looks at the instance. */
export const CHECK_GIVEN_USERS = `for user in $USERS; do
  check_user "$user"
done`;

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

/** rewrite_fstab ENTRY: makes ENTRY the only /etc/fstab line for $MOUNT_POINT (ENTRY empty: none), atomically; returns 1 when nothing changed. */
export const REWRITE_FSTAB = `FSTAB=/etc/fstab
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

/**
 * ensure_dir REL UID MODE OWNER_NAME: the directory $root/REL with owner UID, group $gid and MODE, creating it
 * when missing; the caller sets $root (the mount point, physically) and $gid (the shared group's number).
 */
export const ENSURE_DIR = `# Group members can write the volume: a directory swapped for a symlink must never redirect a root chown or
# chmod. Each change is made on "." after entering the directory and checking where we physically are.
ensure_dir() {
  rel=$1 uid=$2 mode=$3 owner_name=$4
  path=$root\${rel:+/$rel}
  if [ -L "$path" ]; then
    fail ${STEP_EXIT_CODES.conflict} "$path is a symbolic link; refusing to change it"
  fi
  # mkdir first, look after: every instance sharing the volume prepares it, often at the same moment, and a
  # directory another one made between our look and our mkdir is no error.
  if err=$(mkdir "$path" 2>&1); then
    created=yes
  elif [ -L "$path" ]; then
    fail ${STEP_EXIT_CODES.conflict} "$path is a symbolic link; refusing to change it"
  elif [ -d "$path" ]; then
    created=no
  elif [ -e "$path" ]; then
    fail ${STEP_EXIT_CODES.conflict} "$path exists and is not a directory"
  else
    fail ${STEP_EXIT_CODES.conflict} "cannot create $path: $err"
  fi
  cd -P -- "$path"
  [ "$(pwd -P)" = "$path" ] || fail ${STEP_EXIT_CODES.conflict} "$path moved while it was being prepared"
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
}`;

/**
 * The shell twin of validateAccessPointId: ACCESS_POINT empty, or fsap- and hex digits, then joined to the
 * checked MOUNT_OPTIONS as efs-utils takes it (`accesspoint=` needs `tls`, which MOUNT_OPTIONS always has).
 */
export const CHECK_ACCESS_POINT = `case $ACCESS_POINT in
  '') ;;
  fsap-*)
    case \${ACCESS_POINT#fsap-} in
      ''|*[!${HEX}]*) fail ${BAD_INPUT} "the access point id is not fsap- and hex digits" ;;
    esac
    MOUNT_OPTIONS="$MOUNT_OPTIONS,accesspoint=$ACCESS_POINT"
    ;;
  *) fail ${BAD_INPUT} "the access point id must start with fsap-" ;;
esac`;

/** The checks every step on the mounted volume's layout starts with: user and group names, the mount point. */
export const LAYOUT_CHECKS = [CHECK_USER, 'check_name group "$GROUP"', CHECK_MOUNT_POINT, IS_MOUNTED].join('\n');

/** Stops unless the volume is mounted and the shared group exists; leaves its GID in $gid, the mount point's physical path in $root. */
export const MOUNTED_LAYOUT = `is_mounted || fail ${MISSING} "$MOUNT_POINT is not mounted: run mountVolume first"
gid=$(getent group "$GROUP" | head -n 1 | cut -d: -f3)
[ -n "$gid" ] || fail ${MISSING} "group $GROUP does not exist: run ensureGroup first"
root=$(cd -P -- "$MOUNT_POINT" && pwd -P)`;
