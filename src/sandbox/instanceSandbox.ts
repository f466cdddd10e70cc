/**
 * An "EC2 instance" for tests: a persistent Linux mount namespace (we run as root) with its own /etc (a copy,
 * so groupadd, useradd, usermod and fstab edits never touch the host's; shaped like a stock image when asked,
 * see stockImages.ts), its own /mnt, /var/log and /run, and a stand-in /sbin/mount.efs that bind-mounts a
 * local file system playing EFS. Scripts run in it through nsenter, as SSM would run them as root.
 *
 * The namespace outlives the command that made it because its nsfs file is bind-mounted on a file inside a
 * private bind mount (`unshare --mount=<file>`); destroy() unmounts both, which frees the namespace and every
 * mount in it. Nothing is ever mounted in the host's own mount table except those two and the fake EFS
 * (createFakeEfs).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { STOCK_IMAGES, type StockImageName } from './stockImages';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SandboxUser {
  name: string;
  uid: number;
  shell?: string;
}

export interface InstanceSandbox {
  name: string;
  /** Host directory that holds everything the sandbox owns. */
  base: string;
  /** Host directory bind-mounted on the sandbox's /etc. */
  etcDir: string;
  /** Host directory bind-mounted on the sandbox's /mnt (the instance's "disk", so a reboot keeps mount points). */
  mntDir: string;
  /** Runs a script as root inside the instance, like SSM's AWS-RunShellScript. */
  run(script: string, options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** Runs a command in a login shell as an instance user, with the groups of the instance's /etc/group. */
  runAs(user: string, command: string): Promise<RunResult>;
  /** Every argument list the stand-in mount.efs was called with, one line per call. */
  mountEfsCalls(): string[];
  /** The nsfs file of the instance's mount namespace, for a caller that enters it itself (`nsenter --mount=`). */
  namespaceFile: string;
  /** Puts the stand-in mount.efs on the instance, as installing amazon-efs-utils does; a no-op if it is there. */
  installMountEfs(): Promise<void>;
  /** The same instance after a reboot: a fresh namespace over this one's /etc and /mnt, mount.efs as it was. */
  reboot(): Promise<InstanceSandbox>;
  destroy(): Promise<void>;
}

export interface SandboxOptions {
  name: string;
  /** Host directory whose subdirectories named after file-system ids play the EFS file systems. */
  efsRoot: string;
  /** Login users created in the instance's /etc (the copy's own users with UID >= 1000 are removed first). */
  users?: SandboxUser[];
  /** Shape /etc like this stock image: its os-release, login.defs UID_MIN and users (before `users`). */
  image?: StockImageName;
  /** false: no mount.efs on the instance, as before amazon-efs-utils is installed. */
  withMountEfs?: boolean;
  /** A fresh namespace over another sandbox's /etc and /mnt: that instance after a reboot. */
  rebootOf?: InstanceSandbox;
  /** The EFS API (moto) the stand-in mount.efs asks about `accesspoint=`, as the EFS server knows its access points. */
  efsEndpoint?: string;
}

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SANDBOX_PREFIX = 'sharemount-sandbox-';
const live = new Set<InstanceSandbox>();

function sh(args: string[], what: string): string {
  const result = spawnSync(args[0], args.slice(1), { encoding: 'utf8', env: { PATH: STANDARD_PATH, LANG: 'C' } });
  if (result.status !== 0) throw new Error(`${what} failed (${args.join(' ')}): ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/**
 * The stand-in mount.efs, called as the real helper is: mount.efs <fs-id>:/ <dir> -o <options>. Each rule
 * mirrors a decision of amazon-efs-utils 3.2.0 (efs_utils_common), named beside it; the EFS server's own
 * answer (the file system policy) is played by <efsRoot>/<fs-id>.policy.
 */
function standInMountEfs(efsRoot: string, callLog: string, efsEndpoint: string | undefined, helperDir: string): string {
  return `#!/bin/sh
# Stand-in for amazon-efs-utils' mount.efs (tests only): bind-mounts ${efsRoot}/<fs-id>.
set -eu
printf '%s\\n' "$*" >> '${callLog}'
source=$1
target=$2
shift 2
options=
while [ $# -gt 0 ]; do
  case $1 in
    -o) options=$2; shift 2 ;;
    *) shift ;;
  esac
done
has() { case ",$options," in *",$1,"*) return 0 ;; esac; return 1; }
accesspoint=$(printf ',%s,' "$options" | sed -n 's/.*,accesspoint=\\([^,]*\\),.*/\\1/p')
case ",$options," in
  *,gid=*|*,uid=*) echo "mount.efs: incorrect mount option: $options" >&2; exit 32 ;;
esac
# mount_options.check_options_validity: fatal_error, exit 1.
if has iam && ! has tls; then
  echo 'The "tls" option is required when mounting via "iam"' >&2
  exit 1
fi
${ACCESS_POINT_OPTION_CHECKS}
fs=\${source%%:*}
[ -d '${efsRoot}'/"$fs" ] || { echo "mount.efs: no file system $fs" >&2; exit 32; }
# The server refuses a client without IAM authorization when the file system policy requires it;
# mount_utils.mount_nfs_command does not retry "access denied by server" (no access point) and passes
# mount.nfs4's stderr and exit code on through fatal_error.
if [ "$(cat '${efsRoot}'/"$fs".policy 2>/dev/null || true)" = iam-required ] && ! has iam; then
  echo "mount.nfs4: access denied by server while mounting 127.0.0.1:/" >&2
  exit 32
fi
state=
if has tls; then
  # proxy.choose_tls_port: a free port of port_range_lower_bound..upper_bound (20049..21049); a port is
  # taken while a state file holds it. proxy.write_tunnel_state_file: "~" + get_mount_specific_filename
  # (<fs-id>.<mount point, file_utils.get_file_safe_mountpoint_name>.<port>) under /var/run/efs, JSON,
  # renamed without "~" once the mount worked.
  mkdir -p /var/run/efs
  port=20049
  while [ -n "$(find /var/run/efs -maxdepth 1 -name "*.$port" 2>/dev/null)" ]; do port=$((port + 1)); done
  safe=$(printf '%s' "$target" | tr / . | sed 's/^[.]*//')
  state=/var/run/efs/$fs.$safe.$port
  printf '{"pid": %s, "cmd": ["/usr/bin/stunnel5", "/var/run/efs/stunnel-config.%s"], "files": [], "mount_time": %s, "mountpoint": "%s", "service_type": "efs"}' \\
    "$$" "$fs.$safe.$port" "$(date +%s)" "$target" > "/var/run/efs/~$fs.$safe.$port"
fi
if [ -n "$accesspoint" ]; then
${accessPointMount(efsRoot, efsEndpoint, helperDir)}
else
  mount --bind '${efsRoot}'/"$fs" "$target"
fi
[ -z "$state" ] || mv "/var/run/efs/~\${state##*/}" "$state"
`;
}

/**
 * mount_options.check_options_validity: `accesspoint` needs `tls`, and its ID must match constants.AP_REGEX_PATTERN
 * (fsap- and 17 hex digits); moto's 8-digit IDs are let through too, or no test could mount one.
 */
const ACCESS_POINT_OPTION_CHECKS = `if [ -n "$accesspoint" ]; then
  has tls || { echo 'The "tls" option is required when mounting via "accesspoint"' >&2; exit 1; }
  printf '%s\\n' "$accesspoint" | grep -Eqx 'fsap-([0-9a-f]{17}|[0-9a-f]{8})' || { echo "Access Point ID $accesspoint is malformed" >&2; exit 1; }
fi`;

/**
 * What EFS does with an access point, server-side: efs-utils only passes the ID on (proxy.py puts it in the TLS
 * certificate, cert_details["accessPoint"]), and the server looks it up, refuses a mount through one of another
 * file system ("access denied by server", which mount_utils.mount_nfs_command retries for access-point mounts
 * and then gives up on), creates a missing RootDirectory with its CreationInfo owner and mode, exposes that
 * directory as the root, and runs every operation as its PosixUser. Here the access point comes from moto
 * (DescribeAccessPoints) and bindfs plays the identity: new entries are created as PosixUser
 * (--create-for-user/--create-for-group) and existing ones shown as theirs (--force-user/--force-group).
 * bindfs lets the kernel check permissions against what it shows (default_permissions), while EFS ignores the
 * caller's UID; mirroring every local login UID (--mirror: each sees itself as the owner) stands in for that,
 * so an instance user acts with the owner's rights, which is what PosixUser gives them on the area it owns.
 */
function accessPointMount(efsRoot: string, efsEndpoint: string | undefined, helperDir: string): string {
  if (!efsEndpoint)
    return `  echo "mount.efs (stand-in): no EFS endpoint to look access point $accesspoint up in" >&2
  exit 32`;
  return `  ap=$(/usr/bin/python3 - '${efsEndpoint}' "$accesspoint" <<'PY'
import json, sys, urllib.request
endpoint, ap_id = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    f"{endpoint}/2015-02-01/access-points?AccessPointId={ap_id}",
    headers={"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/elasticfilesystem/aws4_request, SignedHeaders=host, Signature=0"},
)
try:
    found = json.load(urllib.request.urlopen(request, timeout=10)).get("AccessPoints", [])
except Exception:
    found = []
for ap in found:
    user, root = ap.get("PosixUser", {}), ap.get("RootDirectory", {})
    info = root.get("CreationInfo") or {}
    print(ap["FileSystemId"], user["Uid"], user["Gid"], root.get("Path", "/"), info.get("OwnerUid", ""), info.get("OwnerGid", ""), info.get("Permissions", ""))
PY
)
  read -r ap_fs ap_uid ap_gid ap_path ap_owner ap_group ap_mode <<EOF_AP
$ap
EOF_AP
  if [ -z "$ap" ] || [ "$ap_fs" != "$fs" ]; then
    echo "mount.nfs4: access denied by server while mounting 127.0.0.1:/" >&2
    exit 32
  fi
  root='${efsRoot}'/"$fs$ap_path"
  if [ ! -d "$root" ]; then
    [ -n "$ap_owner" ] || { echo "mount.nfs4: access denied by server while mounting 127.0.0.1:/" >&2; exit 32; }
    mkdir -p "$root"
    chown "$ap_owner:$ap_group" "$root"
    chmod "$ap_mode" "$root"
  fi
  mirror=$(awk -F: '$3 >= 1000 && $3 < 65534 { printf "%s%s", sep, $3; sep = ":" }' /etc/passwd)
  # bindfs's daemon keeps its stdio: pointed away from SSM's pipes, or the command would never end. A TLS
  # mount shows 127.0.0.1:/ as its source, and bindfs insists on naming its source directory (it ignores
  # -o fsname), so a preloaded mount(2) wrapper gives the kernel the source a real mount would have.
  SHAREMOUNT_MOUNT_SOURCE=127.0.0.1:/ LD_PRELOAD='${helperDir}/${MOUNT_SOURCE_SHIM}' bindfs \${mirror:+--mirror="$mirror"} --force-user="$ap_uid" --force-group="$ap_gid" \\
    --create-for-user="$ap_uid" --create-for-group="$ap_gid" "$root" "$target" </dev/null >/dev/null 2>/var/log/bindfs.log ||
    { cat /var/log/bindfs.log >&2; exit 32; }`;
}

const MOUNT_SOURCE_SHIM = 'mount-source.so';

/** mount(2) with the source named by SHAREMOUNT_MOUNT_SOURCE: what bindfs's FUSE mount shows in the mount table. */
const MOUNT_SOURCE_SHIM_C = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/mount.h>
int mount(const char *source, const char *target, const char *type, unsigned long flags, const void *data) {
  int (*real)(const char *, const char *, const char *, unsigned long, const void *) = dlsym(RTLD_NEXT, "mount");
  const char *name = getenv("SHAREMOUNT_MOUNT_SOURCE");
  return real(name && *name ? name : source, target, type, flags, data);
}
`;

/** Commands that give the sandbox's /etc its users and, for a stock image, its os-release and UID_MIN. */
function shapeEtc(options: SandboxOptions): string[] {
  const image = options.image ? STOCK_IMAGES[options.image] : undefined;
  const people = [...(image ? [image.defaultUser, image.otherUsers.find((u) => u.uid >= image.uidMin)!] : []), ...(options.users ?? [])];
  const system = image ? image.otherUsers.filter((u) => u.uid < image.uidMin) : [];
  const commands = [
    'awk -F: \'$3 >= 1000 && $3 != 65534 { print $1 }\' /etc/passwd | while read -r u; do userdel "$u"; done',
    ...people.map((u) => `useradd -M -U -u ${u.uid} -s '${u.shell ?? '/bin/bash'}' '${u.name}'`),
    // A system account: a low UID the host copy may hold already (-o), in the users group (-N).
    ...system.map((u) => `userdel '${u.name}' 2>/dev/null || true; useradd -M -N -o -u ${u.uid} -s '${u.shell ?? '/sbin/nologin'}' '${u.name}'`),
  ];
  if (image) {
    commands.push(
      `rm -f /etc/os-release && printf '%s\\n' '${image.osRelease.replace(/'/g, `'\\''`)}' > /etc/os-release`,
      `if grep -q '^UID_MIN' /etc/login.defs; then sed -i 's/^UID_MIN.*/UID_MIN ${image.uidMin}/' /etc/login.defs; else echo 'UID_MIN ${image.uidMin}' >> /etc/login.defs; fi`,
    );
  }
  return commands;
}

export async function createInstanceSandbox(options: SandboxOptions): Promise<InstanceSandbox> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `${SANDBOX_PREFIX}${options.name}-`));
  const nsDir = path.join(base, 'ns');
  const nsFile = path.join(nsDir, 'mnt');
  const etcDir = options.rebootOf?.etcDir ?? path.join(base, 'etc');
  const mntDir = options.rebootOf?.mntDir ?? path.join(base, 'mnt');
  const helperDir = path.join(base, 'helpers');
  const callLog = path.join(base, 'mount-efs-calls.log');
  fs.mkdirSync(nsDir);
  fs.writeFileSync(callLog, '');
  let nsDirMounted = false;
  let hasMountEfs = false;
  let nsMounted = false;
  const children = new Set<ReturnType<typeof spawn>>();

  const destroy = async () => {
    live.delete(sandbox);
    for (const child of children) child.kill('SIGKILL');
    if (nsMounted) spawnSync('umount', [nsFile]);
    if (nsDirMounted) spawnSync('umount', [nsDir]);
    nsMounted = nsDirMounted = false;
    fs.rmSync(base, { recursive: true, force: true });
  };

  const execIn = (args: string[], env: Record<string, string> | undefined, timeoutMs = 60000): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/nsenter', [`--mount=${nsFile}`, '--', ...args], {
        cwd: '/',
        env: { PATH: STANDARD_PATH, LANG: 'C', HOME: '/root', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });

  const sandbox: InstanceSandbox = {
    name: options.name,
    base,
    etcDir,
    mntDir,
    run: (script, runOptions) => execIn(['/bin/sh', '-c', script], runOptions?.env, runOptions?.timeoutMs),
    runAs: (user, command) =>
      execIn(['sh', '-c', 'exec setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups -- sh -lc "$2"', 'sh', user, command], { HOME: '/' }),
    mountEfsCalls: () => fs.readFileSync(callLog, 'utf8').split('\n').filter(Boolean),
    namespaceFile: nsFile,
    async installMountEfs() {
      if (hasMountEfs) return;
      fs.mkdirSync(helperDir, { recursive: true });
      fs.writeFileSync(path.join(helperDir, 'mount.efs'), standInMountEfs(options.efsRoot, callLog, options.efsEndpoint, helperDir), { mode: 0o755 });
      if (options.efsEndpoint) {
        fs.writeFileSync(path.join(helperDir, 'mount-source.c'), MOUNT_SOURCE_SHIM_C);
        sh(
          ['gcc', '-shared', '-fPIC', '-O2', '-o', path.join(helperDir, MOUNT_SOURCE_SHIM), path.join(helperDir, 'mount-source.c'), '-ldl'],
          'building the mount-source shim',
        );
      }
      // mount(8) looks for /sbin/mount.<type>; /sbin is /usr/sbin on Debian, so an overlay adds the helper.
      const result = await sandbox.run(`mount -t overlay sharemount-sbin -o 'lowerdir=${helperDir}:/usr/sbin' /usr/sbin`);
      if (result.code !== 0) throw new Error(`sandbox ${options.name}: installing mount.efs failed: ${result.stderr}`);
      hasMountEfs = true;
    },
    reboot: () => createInstanceSandbox({ ...options, withMountEfs: hasMountEfs, rebootOf: sandbox }),
    destroy,
  };
  live.add(sandbox);

  try {
    if (!options.rebootOf) {
      sh(['cp', '-a', '/etc', etcDir], 'copying /etc');
      fs.mkdirSync(mntDir);
    }
    sh(['mount', '--bind', nsDir, nsDir], 'binding the namespace holder');
    nsDirMounted = true;
    sh(['mount', '--make-private', nsDir], 'making the namespace holder private');
    fs.writeFileSync(nsFile, '');
    sh(['unshare', `--mount=${nsFile}`, '--propagation', 'private', 'true'], 'creating the mount namespace');
    nsMounted = true;

    const setup = [
      'set -eu',
      // Other sandboxes' namespace holders were copied into this namespace; drop them so they can be freed.
      `findmnt -rn -o TARGET | grep '^${os.tmpdir()}/${SANDBOX_PREFIX}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done`,
      `mount --bind '${etcDir}' /etc`,
      `mount --bind '${mntDir}' /mnt`,
      'mount -t tmpfs sharemount-varlog /var/log',
      // /run is a tmpfs on every instance: efs-utils keeps its mount state there, gone at a reboot.
      'mount -t tmpfs sharemount-run /run',
    ];
    const setupResult = await sandbox.run(setup.join('\n'));
    if (setupResult.code !== 0) throw new Error(`sandbox ${options.name} setup failed: ${setupResult.stderr}`);
    if (options.withMountEfs !== false) await sandbox.installMountEfs();

    if (!options.rebootOf) {
      const userScript = ['set -eu', ...shapeEtc(options)];
      const usersResult = await sandbox.run(userScript.join('\n'));
      if (usersResult.code !== 0) throw new Error(`sandbox ${options.name} users failed: ${usersResult.stderr}`);
    }
    return sandbox;
  } catch (error) {
    await destroy();
    throw error;
  }
}

/**
 * A host directory whose subdirectories play EFS file systems, shared by every sandbox of a test. It is a tmpfs
 * whose source is 127.0.0.1:/, so a sandbox's bind mount of a file system shows in its mount table as a real
 * TLS mount of EFS does (mounted before any sandbox of the test exists, so each namespace has it).
 */
export interface FakeEfs {
  root: string;
  /** Creates the directory for a file system (root-owned 0755, as a fresh EFS root is) and returns it. */
  fileSystem(id: string): string;
  /** A file system policy that admits only IAM-authorized clients (the stand-in refuses a mount without `iam`). */
  requireIam(id: string): void;
  destroy(): void;
}

export function createFakeEfs(): FakeEfs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-fake-efs-'));
  sh(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=256m', '127.0.0.1:/', root], 'mounting the fake EFS');
  return {
    root,
    fileSystem(id) {
      const dir = path.join(root, id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      return dir;
    },
    requireIam: (id) => fs.writeFileSync(path.join(root, `${id}.policy`), 'iam-required'),
    destroy: () => {
      spawnSync('umount', ['-l', root]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Destroys every sandbox still alive, for afterAll hooks that must clean up after a failed test too. */
export async function destroyAllSandboxes(): Promise<void> {
  for (const sandbox of [...live]) await sandbox.destroy();
}

/** The namespace sandboxes need root (mount, unshare) on Linux; tests skip with a reason elsewhere. */
export function sandboxUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'instance sandboxes need Linux mount namespaces';
  if (process.getuid?.() !== 0) return 'instance sandboxes need root (mount, unshare)';
  return undefined;
}
