/**
 * An "EC2 instance" for tests: a persistent Linux mount namespace (we run as root) with its own /etc (a copy,
 * so groupadd, useradd, usermod and fstab edits never touch the host's), its own /mnt and /var/log, and a
 * stand-in /sbin/mount.efs that bind-mounts a local directory playing the EFS file system. Scripts run in it
 * through nsenter, exactly as SSM would run them as root on the instance.
 *
 * The namespace outlives the command that made it because its nsfs file is bind-mounted on a file inside a
 * private bind mount (`unshare --mount=<file>`); destroy() unmounts both, which frees the namespace and every
 * mount in it. Nothing is ever mounted in the host's own mount table except those two.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
  /** false: no mount.efs on the instance, as before amazon-efs-utils is installed. */
  withMountEfs?: boolean;
  /** A fresh namespace over another sandbox's /etc and /mnt: that instance after a reboot. */
  rebootOf?: InstanceSandbox;
}

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SANDBOX_PREFIX = 'sharemount-sandbox-';
const live = new Set<InstanceSandbox>();

function sh(args: string[], what: string): string {
  const result = spawnSync(args[0], args.slice(1), { encoding: 'utf8', env: { PATH: STANDARD_PATH, LANG: 'C' } });
  if (result.status !== 0) throw new Error(`${what} failed (${args.join(' ')}): ${result.stderr || result.error?.message}`);
  return result.stdout;
}

function standInMountEfs(efsRoot: string, callLog: string): string {
  // Written as the real helper is called: mount.efs <fs-id>:/ <dir> -o <options>.
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
case ",$options," in
  *,gid=*|*,uid=*) echo "mount.efs: incorrect mount option: $options" >&2; exit 32 ;;
esac
fs=\${source%%:*}
[ -d '${efsRoot}'/"$fs" ] || { echo "mount.efs: no file system $fs" >&2; exit 32; }
exec mount --bind '${efsRoot}'/"$fs" "$target"
`;
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
      fs.writeFileSync(path.join(helperDir, 'mount.efs'), standInMountEfs(options.efsRoot, callLog), { mode: 0o755 });
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
    ];
    const setupResult = await sandbox.run(setup.join('\n'));
    if (setupResult.code !== 0) throw new Error(`sandbox ${options.name} setup failed: ${setupResult.stderr}`);
    if (options.withMountEfs !== false) await sandbox.installMountEfs();

    if (!options.rebootOf) {
      const users = options.users ?? [];
      const userScript = [
        'set -eu',
        'awk -F: \'$3 >= 1000 && $3 != 65534 { print $1 }\' /etc/passwd | while read -r u; do userdel "$u"; done',
        ...users.map((u) => `useradd -M -U -u ${u.uid} -s '${u.shell ?? '/bin/bash'}' '${u.name}'`),
      ];
      const usersResult = await sandbox.run(userScript.join('\n'));
      if (usersResult.code !== 0) throw new Error(`sandbox ${options.name} users failed: ${usersResult.stderr}`);
    }
    return sandbox;
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** A host directory whose subdirectories play EFS file systems, shared by every sandbox of a test. */
export interface FakeEfs {
  root: string;
  /** Creates the directory for a file system (root-owned 0755, as a fresh EFS root is) and returns it. */
  fileSystem(id: string): string;
  destroy(): void;
}

export function createFakeEfs(): FakeEfs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-fake-efs-'));
  return {
    root,
    fileSystem(id) {
      const dir = path.join(root, id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      return dir;
    },
    destroy: () => fs.rmSync(root, { recursive: true, force: true }),
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
