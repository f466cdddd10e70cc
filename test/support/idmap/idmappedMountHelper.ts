import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Need } from '../requires';
import { needs } from '../requires';

/**
 * The kernel test's C helper (sharemount-idmapped-mount.c beside this file): compiled with gcc at test time
 * into test-artifacts/idmap/ (ignored by git), as bench/lib.js builds its C tools, and rebuilt when the source
 * is newer. It makes idmapped mounts the way a Proxmox node does at container start and runs a command as a
 * user of a container, all inside a private mount namespace of its own.
 */

const SOURCE = path.join(__dirname, 'sharemount-idmapped-mount.c');
const OUTPUT = path.resolve(__dirname, '..', '..', '..', 'test-artifacts', 'idmap', 'sharemount-idmapped-mount');
/** The helper's exit status when mount_setattr(MOUNT_ATTR_IDMAP) is refused. */
export const IDMAP_REFUSED_STATUS = 124;
/** Generous for a few file operations on a loaded machine; a run that exceeds it is killed, never waited on. */
const RUN_TIMEOUT_MS = 30_000;

function commandMissing(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status !== 0;
}

/** What the kernel test needs of the machine, for describeNeeding. */
export function idmappedMountNeeds(): Need[] {
  return [
    needs.rootNamespaces(),
    { name: 'gcc', missing: commandMissing('gcc') ? 'gcc is not on PATH (apt-get install gcc libc6-dev)' : undefined },
    { name: 'unshare (util-linux)', missing: commandMissing('unshare') ? 'unshare is not on PATH (apt-get install util-linux)' : undefined },
    { name: '/dev/fuse', missing: fs.existsSync('/dev/fuse') ? undefined : '/dev/fuse is missing (modprobe fuse)' },
  ];
}

export function buildIdmappedMountHelper(): string {
  const fresh = fs.existsSync(OUTPUT) && fs.statSync(OUTPUT).mtimeMs >= fs.statSync(SOURCE).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    // A temporary name, then renamed: a parallel run never executes a half-written helper.
    const tmp = `${OUTPUT}.${process.pid}.tmp`;
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, SOURCE], { stdio: 'pipe' });
    fs.renameSync(tmp, OUTPUT);
  }
  return OUTPUT;
}

export interface IdmappedMount {
  source: string;
  target: string;
  /** The mount's user namespace map (disk id → host id), in the helper's MAP form. */
  map: string;
}

export interface ContainerRun {
  /** The container's user namespace map (container id → host id), in the helper's MAP form. */
  container: string;
  mounts?: IdmappedMount[];
  /** The container-side user the script runs as; container root when absent. */
  user?: { uid: number; gid: number };
  /** Mounts a FUSE file system (served without idmap support) at this directory first. */
  fuse?: string;
  /** A shell script; its positional parameters are `args`, so no path is ever spliced into it. */
  script: string;
  args?: string[];
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The helper's argv for a run, without the helper itself. */
export function helperArgs(run: ContainerRun): string[] {
  const user = run.user ?? { uid: 0, gid: 0 };
  return [
    ...(run.fuse ? ['--fuse', run.fuse] : []),
    ...(run.mounts ?? []).flatMap((m) => ['--mount', m.source, m.target, m.map]),
    '--container',
    run.container,
    '--user',
    `${user.uid}:${user.gid}`,
    '--',
    'sh',
    '-euc',
    run.script,
    'sh',
    ...(run.args ?? []),
  ];
}

function runToEnd(command: string, args: string[]): RunResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error) throw new Error(`${command} did not finish: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a script as a container user through the run's idmapped mounts. */
export function runAsContainer(helper: string, run: ContainerRun): RunResult {
  return runToEnd(helper, helperArgs(run));
}

/**
 * Runs the helper after mounting a file system of `fsType` at `dir`, both inside one private mount namespace
 * of unshare's, so the host never sees that mount.
 */
export function runOnFreshFilesystem(helper: string, fsType: 'tmpfs' | 'ramfs', dir: string, run: ContainerRun): RunResult {
  return runToEnd('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-euc',
    'fs=$1 dir=$2; shift 2; mount -t "$fs" sharemount-test "$dir"; chmod 0755 "$dir"; exec "$@"',
    'sh',
    fsType,
    dir,
    helper,
    ...helperArgs(run),
  ]);
}
