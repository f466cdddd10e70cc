import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ContainerConfigError, parseContainerConfig } from '../../domain/lxc/containerConfig';
import { hostUsersFrom, type HostUser } from '../../domain/lxc/hostUsers';
import { decideMountPoint, NoFreeSlotError, pctSetArgs } from '../../domain/lxc/mountPoints';
import { pathProblem } from '../../domain/lxc/paths';
import { createKeyedLock } from './keyedLock';
import { hostBindsOf, type HostBind, type HostPathFacts } from '../../domain/lxc/hostPaths';
import { inspectHostPath } from '../../host/hostPath';
import { walkOwnership, WalkRootError, type RootIdentity, type WalkProgress, type WalkResult } from '../../host/walk';

const run = promisify(execFile);

export interface LxcDeps {
  /** Where Proxmox keeps cluster config; container configs are `<pveDir>/lxc/<ctid>.conf`. Default /etc/pve. */
  pveDir?: string;
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
}

/** Failure types the workflows' retry policies list as non-retryable. */
export const LXC_FAILURES = {
  containerNotFound: 'ContainerNotFound',
  containerConfigInvalid: 'ContainerConfigInvalid',
  volumeNotFound: 'VolumeNotFound',
  invalidInput: 'InvalidInput',
  noFreeSlot: 'NoFreeMountPointSlot',
  pctFailed: 'PctFailed',
  /** The host path has a symlink in it, or is no longer the directory the plan saw. */
  hostPathUnsafe: 'HostPathUnsafe',
} as const;

export interface ContainerRead {
  ctid: number;
  file: string;
  /** The config text; absent when the container does not exist (only from `inspectContainer`). */
  text?: string;
  running: boolean;
}

export interface ApplyOwnershipInput {
  volume: string;
  root: string;
  uid: number;
  gid: number;
  fullScan?: boolean;
  /** The root's device and inode as the plan saw them: the walk refuses to start on any other directory. */
  expectedRoot?: RootIdentity;
}

export type ApplyOwnershipResult = WalkResult & { volume: string; root: string; uid: number; gid: number };

export interface BindMountPointInput {
  ctid: number;
  /** The slot the plan chose; used when still free, else the lowest free one (the result says which). */
  slot?: number;
  hostPath: string;
  containerPath: string;
  fixDrift?: boolean;
}

export interface BindMountPointResult {
  ctid: number;
  slot: number;
  changed: boolean;
  /** What the conf says afterwards: mounted now (hot-plugged or stopped CT), or waiting in [pve:pending]. */
  state: 'present' | 'hotplugged' | 'configured' | 'pendingUntilRestart' | 'driftLeft';
  /** drift only: the host path the slot binds and that was left alone (without fixDrift). */
  currentHostPath?: string;
  running: boolean;
}

/** What `pct set --digest` says when the config changed after it was read (PVE::Tools::assert_if_modified). */
const CONFIG_CHANGED = /detected modified configuration/;
const CONFIG_CHANGED_RETRIES = 5;
const PCT_TIMEOUT_MS = 20_000;

class ConfigChangedError extends Error {}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createLxcActivities(deps: LxcDeps = {}) {
  const withContainerLock = createKeyedLock<number>();
  const pveDir = deps.pveDir ?? '/etc/pve';
  const pct = deps.pct ?? 'pct';
  const confPath = (ctid: number) => path.join(pveDir, 'lxc', `${checkCtid(ctid)}.conf`);

  async function runPct(args: string[]): Promise<string> {
    try {
      // Under bindMountPoint's 30 s start-to-close: an attempt that timed out must not still be running pct.
      const { stdout } = await run(pct, args, { env: { ...process.env, ...deps.pctEnv }, timeout: PCT_TIMEOUT_MS });
      return stdout;
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw ApplicationFailure.nonRetryable(`${pct} not found: is this a Proxmox node? (--pct)`, LXC_FAILURES.pctFailed);
      // pct fails for passing reasons too (the container is locked by a backup): let the retry policy decide.
      throw ApplicationFailure.retryable(`pct ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, LXC_FAILURES.pctFailed);
    }
  }

  async function isRunning(ctid: number): Promise<boolean> {
    const runningDir = deps.runningDir ?? '/sys/fs/cgroup/lxc';
    if (fs.existsSync(runningDir)) return fs.existsSync(path.join(runningDir, String(ctid)));
    const out = await runPct(['status', String(ctid)]);
    return /^status:\s*running\s*$/m.test(out);
  }

  function readConf(ctid: number): { file: string; text?: string; digest?: string } {
    const file = confPath(ctid);
    try {
      const bytes = fs.readFileSync(file);
      // Proxmox's digest of a config is the SHA-1 of its raw bytes (a Latin-1 comment must not change it).
      return { file, text: bytes.toString('utf8'), digest: createHash('sha1').update(bytes).digest('hex') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file };
      throw error;
    }
  }

  const activities = {
    /** Reads a container's config and whether it runs. Changes nothing. A missing container is final. */
    async readContainer(ctid: number): Promise<ContainerRead & { text: string }> {
      const { file, text } = readConf(ctid);
      if (text === undefined) {
        throw ApplicationFailure.nonRetryable(`container ${ctid} does not exist on this node (${file} is missing)`, LXC_FAILURES.containerNotFound);
      }
      return { ctid, file, text, running: await isRunning(ctid) };
    },

    /** Like readContainer, but a missing container is a fact (for plans), not a failure. */
    async inspectContainer(ctid: number): Promise<ContainerRead> {
      const { file, text } = readConf(ctid);
      return { ctid, file, text, running: text === undefined ? false : await isRunning(ctid) };
    },

    /** uid, primary gid and group name of the named host users; unknown names are simply absent. */
    async readHostUsers(names: string[]): Promise<Record<string, HostUser>> {
      const passwd = fs.readFileSync(deps.passwdFile ?? '/etc/passwd', 'utf8');
      let group = '';
      try {
        group = fs.readFileSync(deps.groupFile ?? '/etc/group', 'utf8');
      } catch {
        // group names are only decoration in the plan
      }
      return hostUsersFrom(names, passwd, group);
    },

    /**
     * Gives the volume's files the owner, safely (see ownershipWalk.ts). Heartbeats a cursor; a retry resumes
     * from the last heartbeat instead of starting over. Works outside an activity too (no heartbeats then).
     */
    async applyOwnership(input: ApplyOwnershipInput): Promise<ApplyOwnershipResult> {
      const problem = pathProblem(input.root, 'host path');
      if (problem) throw ApplicationFailure.nonRetryable(`volume ${input.volume}: ${input.root} ${problem}`, LXC_FAILURES.invalidInput);
      const context = activityContext();
      const resumeFrom = context?.info.heartbeatDetails as WalkProgress | undefined;
      try {
        // The walk reports (and so heartbeats) every thousand entries or every 2 s, whichever comes first: a
        // slow store never looks dead, and the heartbeat timeout can stay short.
        const result = await walkOwnership(
          input.root,
          { uid: input.uid, gid: input.gid },
          {
            fullScan: input.fullScan,
            expectedRoot: input.expectedRoot,
            resumeFrom: resumeFrom && Array.isArray(resumeFrom.cursor) ? resumeFrom : undefined,
            onProgress: context ? (progress) => context.heartbeat(progress) : undefined,
            signal: context?.cancellationSignal,
          },
        );
        return { volume: input.volume, root: input.root, uid: input.uid, gid: input.gid, ...result };
      } catch (error) {
        if (!(error instanceof WalkRootError)) throw error;
        const type = error.code === 'NotFound' || error.code === 'NotADirectory' ? LXC_FAILURES.volumeNotFound : LXC_FAILURES.hostPathUnsafe;
        throw ApplicationFailure.nonRetryable(`volume ${input.volume}: ${error.message}`, type);
      }
    },

    /** The host directories every container on this node binds, for the plan's warnings. Changes nothing. */
    async listHostBinds(): Promise<HostBind[]> {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(pveDir, 'lxc'));
      } catch {
        return [];
      }
      return names.flatMap((name) => {
        const ctid = /^(\d+)\.conf$/.exec(name)?.[1];
        const { file, text } = ctid ? readConf(Number(ctid)) : {};
        if (!ctid || text === undefined) return [];
        try {
          const config = parseContainerConfig(text, file!);
          return hostBindsOf(Number(ctid), [...config.mountPoints, ...config.pendingMountPoints]);
        } catch {
          return []; // a config the plan cannot read is reported for the containers the plan uses
        }
      });
    },

    /** Each host path as the host shows it, component by component, following no symlink (for plans). */
    async inspectHostPaths(hostPaths: string[]): Promise<Record<string, HostPathFacts>> {
      for (const hostPath of hostPaths) {
        const problem = pathProblem(hostPath, 'host path');
        if (problem) throw ApplicationFailure.nonRetryable(`${hostPath} ${problem}`, LXC_FAILURES.invalidInput);
      }
      return Object.fromEntries(hostPaths.map((hostPath) => [hostPath, inspectHostPath(hostPath)]));
    },

    /**
     * Binds hostPath at containerPath in the container with `pct set`, unless the conf already says so (then
     * pct is not called). Never restarts a container: a change Proxmox keeps pending is reported as such.
     */
    async bindMountPoint(input: BindMountPointInput): Promise<BindMountPointResult> {
      const { ctid, hostPath, containerPath } = input;
      for (const [field, value, what] of [['hostPath', hostPath, 'host path'], ['containerPath', containerPath, 'container path']]) {
        const problem = pathProblem(value, what);
        if (problem) throw ApplicationFailure.nonRetryable(`CT ${ctid}: ${field} ${problem}`, LXC_FAILURES.invalidInput);
      }
      return withContainerLock(ctid, async () => {
        // An attempt the server has already given up on (it waited its whole start-to-close for the lock) must
        // not change the config after all: its retry is on the way.
        const info = activityContext()?.info;
        if (info && info.startToCloseTimeoutMs > 0 && Date.now() > info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs) {
          throw ApplicationFailure.retryable(`CT ${ctid}: timed out waiting for the container's other mount points to be bound`, LXC_FAILURES.pctFailed);
        }
        for (let attempt = 1; ; attempt++) {
          try {
            return await bindOnce(input);
          } catch (error) {
            // Someone else (an operator, another node's tool) wrote the config between our read and pct set.
            if (!(error instanceof ConfigChangedError) || attempt >= CONFIG_CHANGED_RETRIES) throw failureOf(error, ctid);
          }
        }
      });
    },
  };

  /** Reads the config, picks the slot and sets it against that config's digest; verifies by reading again. */
  async function bindOnce(input: BindMountPointInput): Promise<BindMountPointResult> {
    const { ctid, hostPath, containerPath } = input;
    const { config, digest } = parseConf(ctid);
    let decision;
    try {
      decision = decideMountPoint(hostPath, containerPath, config.mountPoints, config.pendingMountPoints);
    } catch (error) {
      if (error instanceof NoFreeSlotError) throw ApplicationFailure.nonRetryable(`CT ${ctid}: ${error.message}`, LXC_FAILURES.noFreeSlot);
      throw error;
    }
    const running = await isRunning(ctid);
    if (decision.mount === 'present') {
      return { ctid, slot: decision.slot, changed: false, state: decision.pendingUntilRestart ? 'pendingUntilRestart' : 'present', running };
    }
    if (decision.mount === 'drift' && !input.fixDrift) {
      return { ctid, slot: decision.slot, changed: false, state: 'driftLeft', currentHostPath: decision.currentHostPath, running };
    }
    let slot = decision.slot;
    const taken = new Set([...config.mountPoints, ...config.pendingMountPoints].map((e) => e.slot));
    if (decision.mount === 'new' && input.slot !== undefined && !taken.has(input.slot)) slot = input.slot;
    let args: string[];
    try {
      args = pctSetArgs(ctid, slot, hostPath, containerPath, digest);
    } catch (error) {
      throw ApplicationFailure.nonRetryable(`CT ${ctid}: ${(error as Error).message}`, LXC_FAILURES.invalidInput);
    }
    try {
      await runPct(args);
    } catch (error) {
      const text = errorText(error);
      if (CONFIG_CHANGED.test(text)) throw new ConfigChangedError(text);
      throw error;
    }
    const reread = parseConf(ctid).config;
    const after = decideMountPoint(hostPath, containerPath, reread.mountPoints, reread.pendingMountPoints);
    if (after.mount !== 'present') {
      throw ApplicationFailure.retryable(`CT ${ctid}: pct set returned but mp${slot} does not bind ${hostPath} at ${containerPath}`, LXC_FAILURES.pctFailed);
    }
    const state = after.pendingUntilRestart ? 'pendingUntilRestart' : running ? 'hotplugged' : 'configured';
    return { ctid, slot: after.slot, changed: true, state, running };
  }

  function failureOf(error: unknown, ctid: number): unknown {
    if (!(error instanceof ConfigChangedError)) return error;
    return ApplicationFailure.retryable(`CT ${ctid}: its config kept changing while sharemount bound the mount point (${error.message})`, LXC_FAILURES.pctFailed);
  }

  function parseConf(ctid: number) {
    const { file, text, digest } = readConf(ctid);
    if (text === undefined) {
      throw ApplicationFailure.nonRetryable(`container ${ctid} does not exist on this node (${file} is missing)`, LXC_FAILURES.containerNotFound);
    }
    try {
      return { config: parseContainerConfig(text, file), digest: digest! };
    } catch (error) {
      if (error instanceof ContainerConfigError) throw ApplicationFailure.nonRetryable(error.message, LXC_FAILURES.containerConfigInvalid);
      throw error;
    }
  }

  return activities;
}

export type LxcActivities = ReturnType<typeof createLxcActivities>;

function checkCtid(ctid: number): number {
  if (!Number.isSafeInteger(ctid) || ctid < 100 || ctid > 999_999_999) {
    throw ApplicationFailure.nonRetryable(`invalid container ID ${ctid}`, LXC_FAILURES.invalidInput);
  }
  return ctid;
}

/** The activity context when running inside one; undefined when called directly (CLI plan, tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
