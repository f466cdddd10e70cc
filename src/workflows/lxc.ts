/**
 * The LXC runbook, per volume: resolve each container's idmap → resolve the owner → apply ownership → bind
 * the mount point in each container. Runs on the Proxmox node's queue (`lxc:<node>`), where the files are.
 */
import { ApplicationFailure, executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApplyOwnershipResult, BindMountPointResult } from '../activities/lxc';
import { volumeProblems, type LxcVolume } from '../domain/lxc/volume';
import { buildLxcPlan, type ContainerPlan, type VolumePlan } from '../domain/lxc/plan';
import { INPUT_FAILURE_TYPES } from '../domain/errors';
import { LXC_PERMANENT_FAILURES } from '../domain/lxc/failures';
import type { TargetProgress } from '../domain/progress';
import { lxcVolumeWorkflowId } from '../domain/workflowIds';
import { lxcTaskQueue } from '../domain/taskQueues';
import { walkNodeFor } from '../domain/lxc/cluster';
import { versionAtLeast } from '../domain/lxc/strategy';
import { decide } from './decide';
import { runSearchAttributes } from './definitions';
import { errorMessage, ProgressBoard, withConcurrency } from './progress';

const NOT_RETRYABLE = [...LXC_PERMANENT_FAILURES, ...INPUT_FAILURE_TYPES];

// Each reads or writes one small file (or runs one `pct set`): seconds at most, so a lost worker is noticed fast.
const SHORT = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NOT_RETRYABLE },
} as const;
const { readContainer, readHostUsers, readCluster, loadLxcConfig } = proxyActivities<Activities>(SHORT);

// The walk may take hours on a large store; its heartbeat carries the cursor it resumes from after a retry.
// The walk heartbeats every thousand entries or 2 s, whichever is first, so a lost worker is noticed in 20 s.
// An entry that cannot change is a refusal in the result, not an error: what still fails is a lost worker or a
// failing store, worth a few retries (each resumes), never an endless loop.
const WALK = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NOT_RETRYABLE },
} as const;

/**
 * The steps that touch one node's own files: `pct set` acts only on that node's containers, and a local host
 * path exists only there. In a cluster they go to that node's worker (`lxc:<node>`); /etc/pve itself is the
 * same on every node, so reading configs stays here.
 */
function onNode(node: string, here: string) {
  const queue = node === here ? {} : { taskQueue: lxcTaskQueue(node) };
  // proxyActivities returns a Proxy whose members exist only when asked for: pick them, never spread it.
  const { inspectHostPaths, bindMountPoint, readPveContainerVersion } = proxyActivities<Activities>({ ...SHORT, ...queue });
  const { applyOwnership } = proxyActivities<Activities>({ ...WALK, ...queue });
  return { inspectHostPaths, bindMountPoint, applyOwnership, readPveContainerVersion };
}

export interface LxcApplyInput {
  node: string;
  /** The volumes to apply, validated by the CLI; or, for scheduled runs, read from `configFile` each run. */
  volumes?: LxcVolume[];
  configFile?: string;
  onlyVolume?: string;
  /** Rebind slots that point the container path at another host path. */
  fixDrift: boolean;
  /** Walk every entry even when the root and a sample look right (what scheduled re-applies do). */
  fullScan: boolean;
  /** Volumes applied at once. */
  concurrency?: number;
}

export interface LxcVolumeInput {
  node: string;
  volume: LxcVolume;
  fixDrift: boolean;
  fullScan: boolean;
}

export interface LxcVolumeResult {
  volume: string;
  /** chown or idmap, as the plan chose it (and why). */
  strategy: VolumePlan['strategy'];
  owner: { uid: number; gid: number };
  ownership: Omit<ApplyOwnershipResult, 'refused'> & { refused: ApplyOwnershipResult['refused'] };
  mounts: BindMountPointResult[];
  /** Containers whose mount waits in [pve:pending] until they restart (never restarted by sharemount). */
  pendingRestart: number[];
  /** Entries changed in total: 0 on a converged host. */
  changes: number;
}

/** What a volume child returns: its result, plus its final progress rows for the parent's board. */
export type LxcVolumeChildResult = LxcVolumeResult & { rows?: TargetProgress[] };

export interface LxcApplyResult {
  node: string;
  ok: boolean;
  volumes: Array<{ name: string; ok: boolean; result?: LxcVolumeResult; error?: string }>;
}

export const ownershipTarget = (volume: string) => `${volume}: ownership`;
export const containerTarget = (volume: string, ctid: number) => `${volume}: CT ${ctid}`;

/** A volume's rows: its ownership, then one per container. */
function volumeTargets(volume: LxcVolume): string[] {
  return [ownershipTarget(volume.name), ...volume.mounts.map((m) => containerTarget(volume.name, m.ctid))];
}

function addRows(board: ProgressBoard, volume: LxcVolume): void {
  for (const target of volumeTargets(volume)) board.add(target, 2);
}

function describeMount(result: BindMountPointResult, container: ContainerPlan): string | undefined {
  const where = `mp${result.slot} → ${container.containerPath}`;
  switch (result.state) {
    case 'present':
      return undefined;
    case 'hotplugged':
      return `bound ${where} (hot-plugged)`;
    case 'configured':
      return `bound ${where}`;
    case 'pendingUntilRestart':
      return `bound ${where}, pending until CT ${result.ctid} restarts`;
    case 'driftLeft':
    case 'conflictLeft':
      return undefined;
  }
}

/** Refused entries stay as they were, and so does the root, so that the next run looks at them again. */
function refusalNote(ownership: ApplyOwnershipResult): string | undefined {
  if (!ownership.refusedCount) return undefined;
  const shown = ownership.refused.slice(0, 3).map((r) => `${r.path} (${r.reason})`);
  const more = ownership.refusedCount > shown.length ? ` and ${ownership.refusedCount - shown.length} more` : '';
  const root = ownership.rootLeft ? '; the volume root keeps its owner until they are resolved' : '';
  return `refused ${ownership.refusedCount} entries: ${shown.join(', ')}${more}${root}`;
}

function planErrors(plan: VolumePlan): string | undefined {
  if (plan.errors?.length) return plan.errors.map((e) => `${e.field}: ${e.problem}`).join('; ');
  if (!plan.owner) return 'the owner could not be resolved';
  return undefined;
}

/** One volume on one node; its deterministic ID keeps two applies of the same volume from overlapping. */
export async function lxcVolumeWorkflow(input: LxcVolumeInput): Promise<LxcVolumeChildResult> {
  const { volume } = input;
  const board = new ProgressBoard('lxc', volume.name, true);
  addRows(board, volume);
  const own = ownershipTarget(volume.name);
  try {
    const problems = decide(() => volumeProblems(volume));
    if (problems.length) throw ApplicationFailure.nonRetryable(problems.map((p) => p.message).join('; '), 'InvalidInput');
    const containers = await Promise.all(
      volume.mounts.map((mount) =>
        board.step(containerTarget(volume.name, mount.ctid), 'resolveIdmap', () =>
          readContainer.executeWithOptions({ summary: `read CT ${mount.ctid} config: idmap and mount points` }, [mount.ctid]),
        ),
      ),
    );
    const hostUsers = await board.step(own, 'resolveOwner', async () =>
      volume.owner.kind === 'user' ? readHostUsers.executeWithOptions({ summary: `look up host user ${volume.owner.user}` }, [[volume.owner.user]]) : {},
    );
    // In a cluster (configs under nodes/<node>/), where each container lives decides where its steps run.
    const clustered = containers.some((c) => c.node !== undefined);
    const cluster = clustered
      ? await board.step(own, 'checkHostPath', () => readCluster.executeWithOptions({ summary: 'read storage.cfg and replication.cfg' }, []))
      : undefined;
    const where = cluster ? walkNodeFor(volume.hostPath, containers, input.node, cluster) : { node: input.node };
    if ('problem' in where) throw ApplicationFailure.nonRetryable(where.problem, 'PlanInvalid');
    const walker = onNode(where.node, input.node);
    const hostPaths = await board.step(own, 'checkHostPath', () =>
      walker.inspectHostPaths.executeWithOptions({ summary: `check ${volume.hostPath} on ${where.node}: no symlink in any component` }, [[volume.hostPath]]),
    );
    // A run started before the version step existed replays without it (and plans as chown, as it did then).
    const pveContainer = patched('lxc-pve-container-version')
      ? await board.step(own, 'checkHostPath', () => lowestPveContainerVersion(input.node, containers))
      : {};
    const plan = decide(() =>
      buildLxcPlan({ volumes: [volume] }, { node: input.node, containers, hostUsers, hostPaths, ...pveContainer, ...(cluster ? { cluster } : {}) }),
    ).volumes[0];
    const problem = planErrors(plan);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'PlanInvalid');
    const owner = plan.owner!;

    const ctids = volume.mounts.map((m) => m.ctid).join(', ');
    // Under idmap the owner is the disk owner: the walk looks at the root and a sample, finds them right when
    // the tree already belongs to it, and stops there; only a tree owned otherwise is walked.
    const why =
      plan.strategy.name === 'idmap'
        ? `idmap: disk owner ${owner.uid}:${owner.gid}, walked only where the tree is not`
        : `chown ${volume.hostPath} → ${owner.uid}:${owner.gid}`;
    const ownership = await board.step(
      own,
      'applyOwnership',
      () =>
        walker.applyOwnership.executeWithOptions({ summary: `${why} for CT ${ctids} on ${where.node}` }, [
          { volume: volume.name, root: volume.hostPath, uid: owner.uid, gid: owner.gid, fullScan: input.fullScan, expectedRoot: plan.root },
        ]),
      (r) => (r.changed ? `${r.changed} entries now ${owner.uid}:${owner.gid}` : undefined),
    );
    await board.finish(own, refusalNote(ownership));

    const mounts = await withConcurrency(plan.containers, plan.containers.length, async (container) => {
      const target = containerTarget(volume.name, container.ctid);
      const result = await board.step(
        target,
        'bindMountPoint',
        () =>
          onNode(container.node ?? input.node, input.node).bindMountPoint.executeWithOptions(
            {
              summary: `mount ${volume.hostPath} at ${container.containerPath} in CT ${container.ctid} (mp${container.slot}) on ${container.node ?? input.node}`,
            },
            [
              {
                ctid: container.ctid,
                slot: container.slot,
                hostPath: volume.hostPath,
                containerPath: container.containerPath,
                fixDrift: input.fixDrift,
                options: container.options,
              },
            ],
          ),
        (r) => describeMount(r, container),
      );
      if (result.state === 'driftLeft') throw ApplicationFailure.nonRetryable(result.advice ?? `mp${result.slot} left as it is (${result.found})`, 'DriftLeft');
      if (result.state === 'conflictLeft') throw ApplicationFailure.nonRetryable(result.advice ?? `mp${result.slot} is not a bind mount`, 'MountConflict');
      return result;
    });
    for (const [index, outcome] of mounts.entries()) {
      await board.finish(containerTarget(volume.name, plan.containers[index].ctid), outcome.status === 'rejected' ? outcome.reason : undefined);
    }
    const failed = mounts.find((m) => m.status === 'rejected');
    if (failed) throw ApplicationFailure.nonRetryable(errorMessage((failed as PromiseRejectedResult).reason), 'MountFailed');
    const results = mounts.map((m) => (m as PromiseFulfilledResult<BindMountPointResult>).value);
    board.done();
    return {
      volume: volume.name,
      strategy: plan.strategy,
      owner: { uid: owner.uid, gid: owner.gid },
      ownership,
      mounts: results,
      pendingRestart: results.filter((r) => r.state === 'pendingUntilRestart').map((r) => r.ctid),
      changes: ownership.changed + results.filter((r) => r.changed).length,
      rows: board.rows(),
    };
  } catch (error) {
    for (const target of volumeTargets(volume)) if (board.row(target).state !== 'ok') await board.finish(target, error);
    throw error;
  }
}

/**
 * The pve-container version the idmap strategy can count on: each node's that holds one of the containers
 * (this one's too), the lowest of them; unknown when any node cannot say.
 */
async function lowestPveContainerVersion(
  here: string,
  containers: Array<{ node?: string }>,
): Promise<{ pveContainerVersion?: string; pveContainerVersionProblem?: string }> {
  const nodes = [...new Set([here, ...containers.flatMap((c) => (c.node === undefined ? [] : [c.node]))])].sort();
  const read = await Promise.all(
    nodes.map((node) => onNode(node, here).readPveContainerVersion.executeWithOptions({ summary: `read pve-container's version on ${node}` }, [])),
  );
  const problems = read.flatMap((r, i) => (r.problem === undefined ? [] : [`${nodes[i]}: ${r.problem}`]));
  if (problems.length) return { pveContainerVersionProblem: problems.join('; ') };
  const versions = read.map((r) => r.version!);
  const lowest = versions.reduce((low, v) => (versionAtLeast(v, low) ? low : v));
  return { pveContainerVersion: lowest };
}

/** Applies every volume of a config on one node, each as a child workflow, and reports per volume. */
export async function lxcApplyWorkflow(input: LxcApplyInput): Promise<LxcApplyResult> {
  const board = new ProgressBoard('lxc', input.configFile ?? input.node);
  const volumes = await configuredVolumes(board, input);
  volumes.forEach((volume) => addRows(board, volume));
  const outcomes = await withConcurrency(volumes, input.concurrency ?? 4, (volume) => {
    // The child reads every container and the owner first: all its rows are under way from the start.
    volumeTargets(volume).forEach((row) => board.start(row));
    return executeChild(lxcVolumeWorkflow, {
      workflowId: lxcVolumeWorkflowId(input.node, volume.name),
      taskQueue: workflowInfo().taskQueue,
      args: [{ node: input.node, volume, fixDrift: input.fixDrift, fullScan: input.fullScan }],
      staticSummary: `apply volume ${volume.name} (${volume.hostPath}) to CT ${volume.mounts.map((m) => m.ctid).join(', ')} on ${input.node}`,
      typedSearchAttributes: runSearchAttributes(
        'lxc',
        [volume.name],
        volume.mounts.map((m) => `ct${m.ctid}`),
      ),
    });
  });
  const results = await Promise.all(
    outcomes.map(async (outcome, index) => {
      const name = volumes[index].name;
      if (outcome.status === 'fulfilled') {
        const { rows, ...result } = outcome.value;
        await board.adopt(rows, volumeTargets(volumes[index]));
        return { name, ok: true, result };
      }
      // A child that never started (e.g. another apply holds this volume) sent no rows: mark them here.
      for (const row of board.progress.targets.filter((t) => t.target.startsWith(`${name}: `) && t.state !== 'failed')) {
        await board.finish(row.target, outcome.reason);
      }
      return { name, ok: false, error: errorMessage(outcome.reason) };
    }),
  );
  board.done();
  return { node: input.node, ok: results.every((v) => v.ok), volumes: results };
}

async function configuredVolumes(board: ProgressBoard, input: LxcApplyInput): Promise<LxcVolume[]> {
  if (input.volumes) return input.volumes;
  if (!input.configFile) throw ApplicationFailure.nonRetryable('lxcApplyWorkflow needs volumes or a configFile', 'InvalidInput');
  const file = input.configFile;
  board.add('config', 1);
  try {
    const config = await board.step('config', 'loadLxcConfig', () =>
      loadLxcConfig.executeWithOptions({ summary: `read and validate ${file}` }, [{ file, volume: input.onlyVolume }]),
    );
    await board.finish('config');
    return config.volumes;
  } catch (error) {
    await board.finish('config', error);
    board.done();
    throw error;
  }
}
