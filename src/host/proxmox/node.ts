import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ContainerConfigError, parseContainerConfig, type ContainerConfig } from '../../domain/lxc/containerConfig';
import { containerNodes, replicatedGuests, sharedStoragePaths, type ClusterFacts } from '../../domain/lxc/cluster';
import { hostBindsOf, type HostBind } from '../../domain/lxc/hostPaths';
import { hostUsersFrom, type HostUser } from '../../domain/lxc/hostUsers';
import { isCtid } from '../../domain/lxc/volume';
import { packageVersionProblem } from '../../domain/lxc/strategy';
import { ProxmoxError, type ProxmoxErrorKind } from './errors';

const run = promisify(execFile);

export interface ProxmoxNodeOptions {
  /**
   * Where Proxmox keeps cluster config. Default /etc/pve. A container's config is
   * `<pveDir>/nodes/<node>/lxc/<ctid>.conf`, its node from `.vmlist` (or the node directory holding it);
   * without a `nodes/` directory (a single node, or tests), `<pveDir>/lxc/<ctid>.conf`.
   */
  pveDir?: string;
  /** This node's name: `pveDir/lxc` is its directory, and `pct` acts only on its containers. */
  nodeName?: string;
  /** The pct command (name on PATH or a path). Default `pct`. */
  pct?: string;
  /** Extra environment for pct (tests point the stand-in at their own pve dir). */
  pctEnv?: Record<string, string>;
  /**
   * A running container has a cgroup directory `<runningDir>/<ctid>` (Proxmox: /sys/fs/cgroup/lxc, the
   * default), so reading state costs no pct call; where that directory does not exist, `pct status` is asked.
   */
  runningDir?: string;
  passwdFile?: string;
  groupFile?: string;
  /** The node's pve-container version as named by the operator (`--pve-container-version`); else dpkg is asked. */
  pveContainerVersion?: string;
}

export interface ConfRead {
  file: string;
  /** The node that holds the container (absent on a single node without nodes/). */
  node?: string;
  /** Absent when the container has no config on this node. */
  text?: string;
  /** Proxmox's digest of a config: the SHA-1 of its raw bytes (a Latin-1 comment must not change it). */
  digest?: string;
}

/** dpkg-query answers in well under a second; a hung one must not hold up a plan. */
const DPKG_TIMEOUT_MS = 10_000;

/** Under bindMountPoint's 30 s start-to-close: an attempt that timed out must not still be running pct. */
const PCT_TIMEOUT_MS = 20_000;

/** The node's files and its pct, read and called without Temporal: activities wrap these, plans use them. */
export function proxmoxNode(options: ProxmoxNodeOptions = {}) {
  const pveDir = options.pveDir ?? '/etc/pve';
  // PVE::INotify::nodename: the short host name.
  const nodeName = options.nodeName ?? os.hostname().split('.')[0];
  const pct = options.pct ?? 'pct';
  const nodesDir = path.join(pveDir, 'nodes');
  const readOptional = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  /** Where the container's config is: the node .vmlist names, else the node directory that has it, else lxc/. */
  function locate(ctid: number): { file: string; node?: string; lookedIn: string[] } {
    checkCtid(ctid);
    if (!fs.existsSync(nodesDir)) return { file: path.join(pveDir, 'lxc', `${ctid}.conf`), lookedIn: [] };
    const listed = containerNodes(readOptional(path.join(pveDir, '.vmlist'))).get(ctid);
    const nodes = fs.readdirSync(nodesDir).sort();
    const candidates = listed ? [listed, ...nodes.filter((n) => n !== listed)] : nodes;
    const files = candidates.map((n) => ({ node: n, file: path.join(nodesDir, n, 'lxc', `${ctid}.conf`) }));
    const found = files.find((f) => fs.existsSync(f.file));
    const lookedIn = [`${path.join(pveDir, '.vmlist')} (${listed ? `says ${listed}` : 'no entry'})`, ...files.map((f) => f.file)];
    return found ? { ...found, lookedIn } : { file: files[0]?.file ?? path.join(nodesDir, listed ?? '<none>', 'lxc', `${ctid}.conf`), node: listed, lookedIn };
  }

  function readConf(ctid: number): ConfRead {
    const { file, node } = locate(ctid);
    const where = node === undefined ? {} : { node };
    try {
      const bytes = fs.readFileSync(file);
      return { file, ...where, text: bytes.toString('utf8'), digest: createHash('sha1').update(bytes).digest('hex') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file, ...where };
      throw error;
    }
  }

  /** A container on no node, said with every place looked in. */
  function notFoundMessage(ctid: number): string {
    const { file, lookedIn } = locate(ctid);
    return lookedIn.length
      ? `container ${ctid} is on no node of this cluster (looked in ${lookedIn.join(', ')})`
      : `container ${ctid} does not exist on this node (${file} is missing)`;
  }

  /** storage.cfg's shared paths and replication.cfg's guests; a missing file says nothing is. */
  function readCluster(): ClusterFacts {
    return {
      sharedPaths: sharedStoragePaths(readOptional(path.join(pveDir, 'storage.cfg'))),
      replicated: replicatedGuests(readOptional(path.join(pveDir, 'replication.cfg'))),
    };
  }

  async function runPct(args: string[]): Promise<string> {
    try {
      const { stdout } = await run(pct, args, { env: { ...process.env, ...options.pctEnv }, timeout: PCT_TIMEOUT_MS });
      return stdout;
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new ProxmoxError('pctMissing', `${pct} not found: is this a Proxmox node? (--pct)`);
      const said = (e.stderr || e.message).trim();
      throw new ProxmoxError(pctFailureKind(said), `pct ${args.join(' ')} failed: ${said}`);
    }
  }

  async function isRunning(ctid: number): Promise<boolean> {
    const runningDir = options.runningDir ?? '/sys/fs/cgroup/lxc';
    if (fs.existsSync(runningDir)) return fs.existsSync(path.join(runningDir, String(ctid)));
    const out = await runPct(['status', String(ctid)]);
    return /^status:\s*running\s*$/m.test(out);
  }

  /** Whether the container runs; a failing `pct status` makes it unknown (with why), never the whole plan. */
  async function runningState(ctid: number): Promise<{ running: boolean | null; problem?: string }> {
    try {
      return { running: await isRunning(ctid) };
    } catch (error) {
      if (error instanceof ProxmoxError && error.kind !== 'pctMissing') return { running: null, problem: error.message };
      throw error;
    }
  }

  /**
   * A container's config and state, for plans. pct status answers only for this node's containers, so another
   * node's container has an unknown state (said why).
   */
  async function containerState(
    ctid: number,
  ): Promise<{ ctid: number; file: string; node?: string; text?: string; running: boolean | null; statusProblem?: string; notFound?: string }> {
    const { file, text, node } = readConf(ctid);
    const at = node === undefined ? {} : { node };
    if (text === undefined) return { ctid, file, ...at, running: false, notFound: notFoundMessage(ctid) };
    const { running, problem } =
      node === undefined || node === nodeName
        ? await runningState(ctid)
        : { running: null, problem: `CT ${ctid} is on node ${node}, and pct status answers only for ${nodeName}'s containers` };
    return problem === undefined ? { ctid, file, ...at, text, running } : { ctid, file, ...at, text, running, statusProblem: problem };
  }

  /** The container's parsed config and its digest; a missing or unreadable config is a ProxmoxError. */
  function parseConf(ctid: number): { config: ContainerConfig; digest: string } {
    const { file, text, digest } = readConf(ctid);
    if (text === undefined) throw new ProxmoxError('containerNotFound', notFoundMessage(ctid));
    try {
      return { config: parseContainerConfig(text, file), digest: digest! };
    } catch (error) {
      if (error instanceof ContainerConfigError) throw new ProxmoxError('configInvalid', error.message);
      throw error;
    }
  }

  /** The installed pve-container, which decides whether a mount point takes idmap= (strategy.ts). */
  async function pveContainerVersion(): Promise<{ version?: string; problem?: string }> {
    if (options.pveContainerVersion !== undefined) return { version: options.pveContainerVersion };
    try {
      const { stdout } = await run('dpkg-query', ['-W', '-f=${Version}', 'pve-container'], { timeout: DPKG_TIMEOUT_MS });
      const version = stdout.trim();
      if (!version) return { problem: 'dpkg-query -W pve-container printed no version' };
      const problem = packageVersionProblem(version);
      return problem ? { problem: `dpkg-query -W pve-container: ${problem}` } : { version };
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') return { problem: 'dpkg-query not found: this is not a Debian-based Proxmox node' };
      return { problem: `dpkg-query -W pve-container failed: ${(e.stderr || e.message).trim()}` };
    }
  }

  return {
    pveDir,
    nodeName,
    pveContainerVersion,
    containerState,
    readConf,
    readCluster,
    notFoundMessage,
    parseConf,
    runPct,
    isRunning,
    runningState,

    /** uid, primary gid and group name of the named host users; unknown names are simply absent. */
    readHostUsers(names: string[]): Record<string, HostUser> {
      const passwd = fs.readFileSync(options.passwdFile ?? '/etc/passwd', 'utf8');
      let group = '';
      try {
        group = fs.readFileSync(options.groupFile ?? '/etc/group', 'utf8');
      } catch {
        // group names are only decoration in the plan
      }
      return hostUsersFrom(names, passwd, group);
    },

    /** The host directories every container on this node binds (for the plan's warnings). */
    listHostBinds(): HostBind[] {
      let names: string[];
      try {
        names = fs.readdirSync(fs.existsSync(nodesDir) ? path.join(nodesDir, nodeName, 'lxc') : path.join(pveDir, 'lxc'));
      } catch {
        return [];
      }
      return names.flatMap((name) => {
        const ctid = /^(\d+)\.conf$/.exec(name)?.[1];
        if (!ctid) return [];
        try {
          const { config } = parseConf(Number(ctid));
          const binds = [...config.mountPoints, ...config.pendingMountPoints].flatMap((e) =>
            e.parsed?.type === 'bind' ? [{ slot: e.slot, volume: e.parsed.volume, containerPath: e.parsed.containerPath }] : [],
          );
          return hostBindsOf(Number(ctid), binds);
        } catch {
          return []; // a config the plan cannot read is reported for the containers the plan uses
        }
      });
    },
  };
}

export type ProxmoxNode = ReturnType<typeof proxmoxNode>;

/**
 * Which refusal pct's message is, by the words pve-container and pve-guest-common die with: these need an
 * operator, so no retry can change them; anything else may pass.
 */
export function pctFailureKind(message: string): ProxmoxErrorKind {
  if (/ - protection mode enabled/.test(message)) return 'containerProtected'; // AbstractConfig::check_protection
  if (/^CT is locked \(/m.test(message)) return 'containerLocked'; // AbstractConfig::check_lock
  if (/cannot add non-replicatable volume to a replicated VM/.test(message)) return 'replicationRefused'; // API2::LXC::Config update_vm
  if (/^Configuration file '[^']+' does not exist/m.test(message)) return 'containerNotFound'; // AbstractConfig::load_config
  return 'pctFailed';
}

function checkCtid(ctid: number): number {
  if (!isCtid(ctid)) throw new ProxmoxError('invalidInput', `invalid container ID ${ctid}`);
  return ctid;
}
