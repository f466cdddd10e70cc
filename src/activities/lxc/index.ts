import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { InputError, InputErrors } from '../../domain/errors';
import { LXC_FAILURES } from '../../domain/lxc/failures';
import type { ClusterFacts } from '../../domain/lxc/cluster';
import type { LxcConfig } from '../../domain/lxc/config';
import type { HostBind, HostPathFacts } from '../../domain/lxc/hostPaths';
import type { HostUser } from '../../domain/lxc/hostUsers';
import { pathProblem } from '../../domain/lxc/paths';
import { inspectHostPath } from '../../host/hostPath';
import { readLxcConfigFile } from '../../host/lxcConfigFile';
import { ProxmoxError, type ProxmoxErrorKind } from '../../host/proxmox/errors';
import { bindMountPoint, type BindMountPointInput, type BindMountPointResult } from '../../host/proxmox/mountPoint';
import { proxmoxNode, type ProxmoxNodeOptions } from '../../host/proxmox/node';
import { walkOwnership, WalkRootError, type RootIdentity, type WalkProgress, type WalkResult } from '../../host/walk';
import { createKeyedLock } from './keyedLock';

export type { BindMountPointInput, BindMountPointResult };
export type LxcDeps = ProxmoxNodeOptions;

/** How each Proxmox failure reaches the retry policy: its type, and whether a retry could see it change. */
const PROXMOX_FAILURES: Record<ProxmoxErrorKind, { type: string; retryable: boolean }> = {
  containerNotFound: { type: LXC_FAILURES.containerNotFound, retryable: false },
  configInvalid: { type: LXC_FAILURES.containerConfigInvalid, retryable: false },
  invalidInput: { type: LXC_FAILURES.invalidInput, retryable: false },
  noFreeSlot: { type: LXC_FAILURES.noFreeSlot, retryable: false },
  pctMissing: { type: LXC_FAILURES.pctFailed, retryable: false },
  pctFailed: { type: LXC_FAILURES.pctFailed, retryable: true },
  containerProtected: { type: LXC_FAILURES.containerProtected, retryable: false },
  containerLocked: { type: LXC_FAILURES.containerLocked, retryable: false },
  replicationRefused: { type: LXC_FAILURES.replicationRefused, retryable: false },
  configKeptChanging: { type: LXC_FAILURES.pctFailed, retryable: true },
};

export interface ContainerRead {
  ctid: number;
  file: string;
  /** The config text; absent when the container does not exist (only from `inspectContainer`). */
  text?: string;
  running: boolean | null;
  /** Why the running state is unknown (pct status failed, or it is another node's container). */
  statusProblem?: string;
  /** The node that holds it, whose worker binds its mount points. */
  node?: string;
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

/** The LXC steps: thin wrappers over the Proxmox host layer (src/host) that add heartbeats and failure types. */
export function createLxcActivities(deps: LxcDeps = {}) {
  const node = proxmoxNode(deps);
  const withContainerLock = createKeyedLock<number>();

  return {
    /** Reads a container's config and whether it runs. Changes nothing. A missing container is final. */
    async readContainer(ctid: number): Promise<ContainerRead & { text: string }> {
      return proxmoxStep(async () => {
        const { text, notFound, ...state } = await node.containerState(ctid);
        if (text === undefined) throw new ProxmoxError('containerNotFound', notFound!);
        return { ...state, text };
      });
    },

    /** uid, primary gid and group name of the named host users; unknown names are simply absent. */
    async readHostUsers(names: string[]): Promise<Record<string, HostUser>> {
      return node.readHostUsers(names);
    },

    /** The node's pve-container version, or why it is unknown (for the idmap strategy). Changes nothing. */
    async readPveContainerVersion(): Promise<{ version?: string; problem?: string }> {
      return node.pveContainerVersion();
    },

    /** storage.cfg's shared paths and replication.cfg's guests. Changes nothing. */
    async readCluster(): Promise<ClusterFacts> {
      return node.readCluster();
    },

    /** The host directories every container on this node binds, for the plan's warnings. Changes nothing. */
    async listHostBinds(): Promise<HostBind[]> {
      return node.listHostBinds();
    },

    /** Each host path as the host shows it, component by component, following no symlink (for plans). */
    async inspectHostPaths(hostPaths: string[]): Promise<Record<string, HostPathFacts>> {
      for (const hostPath of hostPaths) {
        const problem = pathProblem(hostPath, 'host path');
        if (problem) throw ApplicationFailure.nonRetryable(`${hostPath} ${problem}`, LXC_FAILURES.invalidInput);
      }
      return Object.fromEntries(hostPaths.map((hostPath) => [hostPath, inspectHostPath(hostPath)]));
    },

    /** Scheduled re-applies read the config on the node each run, so an edited file is picked up. */
    async loadLxcConfig(input: { file: string; volume?: string }): Promise<LxcConfig> {
      try {
        return readLxcConfigFile(input.file, input.volume);
      } catch (error) {
        if (error instanceof InputError || error instanceof InputErrors) throw ApplicationFailure.nonRetryable(error.message, LXC_FAILURES.invalidInput);
        throw error;
      }
    },

    /**
     * Gives the volume's files the owner, safely (src/host/walk). Heartbeats a cursor; a retry resumes from the
     * last heartbeat instead of starting over. Works outside an activity too (no heartbeats then).
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

    /** Binds the mount point with `pct set` (src/host/proxmox/mountPoint.ts), one container at a time. */
    async bindMountPoint(input: BindMountPointInput): Promise<BindMountPointResult> {
      const { ctid, hostPath, containerPath } = input;
      for (const [field, value, what] of [
        ['hostPath', hostPath, 'host path'],
        ['containerPath', containerPath, 'container path'],
      ]) {
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
        return proxmoxStep(() => bindMountPoint(node, input));
      });
    },
  };
}

export type LxcActivities = ReturnType<typeof createLxcActivities>;

/** Runs a host-layer step and gives its ProxmoxError the failure type and retryability the workflows expect. */
async function proxmoxStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ProxmoxError)) throw error;
    const { type, retryable } = PROXMOX_FAILURES[error.kind];
    throw retryable ? ApplicationFailure.retryable(error.message, type) : ApplicationFailure.nonRetryable(error.message, type);
  }
}

/** The activity context when running inside one; undefined when called directly (tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
