/**
 * The EFS runbook: resolve the instances (explicit IDs, and tags asked of EC2 when the run runs), make sure the
 * file system and its mount targets exist, read every instance's facts (its os-release, login users, mount.efs,
 * and whether the volume is already in place) before anything changes and report users that collide across
 * instances, then run each instance's steps that is not already converged (install efs-utils by the route its os-release calls for → group → users →
 * mount → layout → fstab → umask) through SSM, one child workflow per instance with a deterministic ID, a
 * bounded number at once.
 */
import { ApplicationFailure, executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  chooseInstallRoute,
  chooseMountTargetSubnets,
  distributorFailureAdvice,
  findIdentityCollisions,
  nfsSourceGroups,
  parseInstanceFacts,
  planEfsMount,
  planEfsUnmount,
  validateVolumeName,
  type EfsMountRequest,
  type EfsPlan,
  type IdentityCollision,
  type InstallRoute,
  type InstanceFacts,
  type PlannedStep,
} from '../domain/efs';
import { fleetChanges, previousFleetOf, validateFleetSelection, type FleetChanges } from '../domain/efs/fleet';
import { EFS_MOUNT_STEPS, EFS_UNMOUNT_STEPS } from '../domain/efs/steps';
import type { TagSelector } from '../domain/efs/tagSelectors';
import { efsInstanceWorkflowId } from '../domain/workflowIds';
import type { TargetProgress } from '../domain/progress';
import { AWS_RETRY } from './awsRetry';
import { decide } from './decide';
import { runInstancesInBatches, runStepInBatches, type InstanceStepOutcome, type SsmMeter } from './efsBatched';
import { runSearchAttributes } from './definitions';
import { deleteSharedAccessPoint, ensureSharedAccessPoint, requireAccessPoints } from './efsIdentity';
import { errorMessage, ProgressBoard, withConcurrency } from './progress';
import type { FileSystemPolicy } from '../domain/identity/mountPolicy';

// AWS answers fast; throttling and 5xx come back as retryable failures, everything else is marked
// non-retryable by the activities themselves, except what their validators throw: that is bad input here.
const aws = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: AWS_RETRY });

// Polling activities heartbeat; a lost worker is noticed within the heartbeat timeout, and the retry polls
// the same command (its ID is in the last heartbeat) instead of sending it again. The Distributor route
// (AWS-ConfigureAWSPackage, which downloads from S3) is such a command too.
const polling = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: AWS_RETRY,
});

/** Histories from before the facts step ran their children straight after the mount targets. */
const GATHER_FACTS_PATCH = 'efs-gather-instance-facts';
/** Histories from before convergence was read started a child for every instance. */
const SKIP_CONVERGED_PATCH = 'efs-skip-converged-instances';

export interface EfsVolumeInput {
  name: string;
  instanceIds: string[];
  /** Mount-target subnets (one per availability zone); default: the instances' own subnets. */
  subnetIds?: string[];
  tags?: Record<string, string>;
  /** Put the file system policy that refuses mounts without an access point. */
  requireAccessPoints?: boolean;
}

export interface EfsVolumeResult {
  fileSystemId: string;
  created: boolean;
  /** Instances EC2 does not know, or whose SSM agent cannot take commands: they fail alone, the others go on. */
  unknownInstances: Array<{ instanceId: string; reason: string }>;
  securityGroupId: string;
  mountTargets: Array<{ mountTargetId: string; subnetId: string; availabilityZone: string; created: boolean }>;
  /** With requireAccessPoints: the file system policy as it now is. */
  policy?: FileSystemPolicy;
}

export interface EfsMountInput extends Omit<EfsMountRequest, 'fileSystemId' | 'instanceIds'> {
  /** May be empty when tags select the instances. */
  instanceIds: string[];
  /** Instances with all these tags, running, Linux: resolved by each run, so a schedule finds new ones. */
  tags?: TagSelector[];
  /** Instances worked on at once. */
  concurrency?: number;
  /** One SendCommand per step for up to 50 instances (runStepOnInstances) instead of a child per instance. */
  batchSsm?: boolean;
  /** Unmount: delete the volume's shared-area access point once every instance is unmounted. */
  deleteAccessPoint?: boolean;
}

export interface InstanceResult {
  instanceId: string;
  ok: boolean;
  changes: string[];
  error?: string;
  /** Found with everything in place by the read-only facts step: no other step ran there. */
  converged?: boolean;
}

/** What an instance child returns: its result, plus its final progress row for the parent's board. */
export type InstanceChildResult = InstanceResult & { rows?: TargetProgress[] };

/** What gatherInstanceFacts found, before anything changed. */
export interface EfsIdentities {
  instances: InstanceFacts[];
  /** Users whose numeric IDs disagree across instances, with what that means for users/<name>/. */
  collisions: IdentityCollision[];
}

export interface EfsRunResult {
  volume: string;
  fileSystemId: string;
  ok: boolean;
  instances: InstanceResult[];
  /** Mounts only (absent in histories from before the facts step). */
  identities?: EfsIdentities;
  /** Who this run acted on against the previous run of the same schedule; absent for runs without tags. */
  fleet?: EfsFleetReport;
  /** SSM API calls the run made (batched runs only): SendCommand, ListCommandInvocations, GetCommandInvocation. */
  ssmCalls?: number;
  /** access-point mode: the access point every instance mounted through. */
  accessPointId?: string;
  /** Unmount with deleteAccessPoint: what was deleted (nothing while an instance failed to unmount). */
  deletedAccessPoints?: string[];
}

export interface EfsFleetReport extends FleetChanges {
  tags: TagSelector[];
  /** Whether a previous run's result was there to compare with (a schedule's second run onwards). */
  comparedWithPreviousRun: boolean;
  /** Tagged instances sharemount cannot serve (Windows), each with why. */
  passedOver: Array<{ instanceId: string; reason: string }>;
}

const VOLUME_ROW = 'file system';
const CHECK_AGENTS_PATCH = 'efs-check-agents-first';

function requestOf(input: EfsMountInput): Omit<EfsMountRequest, 'fileSystemId'> {
  const { concurrency: _concurrency, tags: _tags, batchSsm: _batchSsm, deleteAccessPoint: _delete, ...request } = input;
  return request;
}

/**
 * The volume and instances every run names, checked before its first call to AWS; the activities check them
 * again, and the rest of a mount's settings are checked with its plan, which needs the file system's ID.
 */
function checkTargets(volumeName: string, instanceIds: readonly string[], instanceField?: string, tags?: readonly TagSelector[]): void {
  decide(() => {
    validateVolumeName(volumeName);
    validateFleetSelection({ instanceIds, tags }, instanceField);
  });
}

interface ResolvedFleet {
  instanceIds: string[];
  /** Absent when the run named its instances by ID only. */
  report?: EfsFleetReport;
}

/**
 * The instances this run acts on. With tags, EC2 is asked now (each scheduled run asks again) and the answer is
 * compared with the previous run's result, which Temporal hands every scheduled run (workflowInfo().lastResult).
 */
async function resolveFleet(board: ProgressBoard, input: EfsMountInput, stepsPerInstance: number): Promise<ResolvedFleet> {
  const tags = input.tags ?? [];
  if (tags.length === 0) return { instanceIds: input.instanceIds };
  const resolved = await board.step(VOLUME_ROW, 'resolveTargets', () =>
    aws.resolveTargets.executeWithOptions({ summary: `find the running Linux instances with the tags, beside ${input.instanceIds.length} named one(s)` }, [
      { instanceIds: input.instanceIds, tags },
    ]),
  );
  resolved.instanceIds.filter((id) => !input.instanceIds.includes(id)).forEach((id) => board.add(id, stepsPerInstance));
  const previous = previousFleetOf(workflowInfo().lastResult);
  return {
    instanceIds: resolved.instanceIds,
    report: { tags, ...fleetChanges(previous, resolved.instanceIds), comparedWithPreviousRun: previous !== undefined, passedOver: resolved.passedOver },
  };
}

/** How each command names its instances, so an error names a flag the operator can pass. */
const CREATE_INSTANCE_FIELD = '--instance';
const MOUNT_INSTANCE_FIELD = '<instance-id>';

/** Creates (or finds) the file system, its NFS security group and one mount target per zone of the instances. */
/**
 * `askAgents`: only a run that will send commands asks SSM about the agents first; `efs create` places mount
 * targets by the instances' subnets alone and must work before any agent is registered.
 */
async function ensureVolume(board: ProgressBoard, input: EfsVolumeInput, instanceField: string, askAgents: boolean): Promise<EfsVolumeResult> {
  const row = VOLUME_ROW;
  const fs = await board.step(
    row,
    'ensureFileSystem',
    () =>
      aws.ensureFileSystem.executeWithOptions({ summary: `create or find EFS file system for volume ${input.name}` }, [{ name: input.name, tags: input.tags }]),
    (r) => (r.created ? `created ${r.fileSystemId}` : undefined),
  );
  await board.step(row, 'awaitFileSystemAvailable', () =>
    polling.awaitFileSystemAvailable.executeWithOptions({ summary: `wait until ${fs.fileSystemId} is available` }, [{ fileSystemId: fs.fileSystemId }]),
  );
  const located = await board.step(row, 'locateInstances', () =>
    aws.locateInstances.executeWithOptions({ summary: `find the subnets of ${input.instanceIds.length} instance(s)` }, [{ instanceIds: input.instanceIds }]),
  );
  // The agent is asked first: an instance whose SSM agent is offline, unregistered or not on Linux fails alone
  // now. Behind a patch marker, so runs recorded before this step replay without it.
  if (askAgents && patched(CHECK_AGENTS_PATCH)) {
    const agents = await board.step(row, 'checkAgents', () =>
      aws.checkAgents.executeWithOptions({ summary: 'ask Systems Manager whether the SSM agents are Online' }, [
        { instanceIds: located.found.map((i) => i.instanceId) },
      ]),
    );
    located.unknown.push(...agents.notReady);
    located.found = located.found.filter((i) => agents.ready.includes(i.instanceId));
  }
  const instances = located.found;
  if (instances.length === 0) {
    throw ApplicationFailure.nonRetryable(`none of the instances can take commands: ${located.unknown.map((u) => u.reason).join('; ')}`, 'UnknownInstances');
  }
  const network = decide(() => chooseMountTargetSubnets(instances, input.subnetIds, instanceField));
  const group = await board.step(
    row,
    'ensureNfsSecurityGroup',
    () =>
      aws.ensureNfsSecurityGroup.executeWithOptions({ summary: `security group admitting NFS (TCP 2049) in ${network.vpcId}` }, [
        { name: `sharemount-${input.name}-nfs`, vpcId: network.vpcId, sourceGroupIds: nfsSourceGroups(instances), tags: input.tags },
      ]),
    (r) =>
      r.created
        ? `created security group ${r.securityGroupId}`
        : r.rulesAdded.length
          ? `opened NFS in ${r.securityGroupId} to ${r.rulesAdded.join(', ')}`
          : undefined,
  );
  const targets = await board.step(
    row,
    'ensureMountTargets',
    () =>
      aws.ensureMountTargets.executeWithOptions(
        { summary: `mount targets for ${fs.fileSystemId} in ${network.subnets.map((s) => s.availabilityZone || s.subnetId).join(', ')}` },
        [{ fileSystemId: fs.fileSystemId, subnetIds: network.subnets.map((s) => s.subnetId), securityGroupId: group.securityGroupId }],
      ),
    (r) => {
      const created = r.mountTargets.filter((t) => t.created).map((t) => t.availabilityZone);
      return created.length ? `mount targets created in ${created.join(', ')}` : undefined;
    },
  );
  await board.step(row, 'awaitMountTargetsAvailable', () =>
    polling.awaitMountTargetsAvailable.executeWithOptions({ summary: `wait until the mount targets of ${fs.fileSystemId} are available` }, [
      { fileSystemId: fs.fileSystemId },
    ]),
  );
  await board.finish(row);
  return {
    fileSystemId: fs.fileSystemId,
    created: fs.created,
    unknownInstances: located.unknown,
    securityGroupId: group.securityGroupId,
    mountTargets: targets.mountTargets.map(({ mountTargetId, subnetId, availabilityZone, created }) => ({
      mountTargetId,
      subnetId,
      availabilityZone,
      created,
    })),
  };
}

/** `sharemount efs create`: the file system and what instances need to reach it; run twice, creates nothing. */
export async function efsCreateWorkflow(input: EfsVolumeInput): Promise<EfsVolumeResult> {
  checkTargets(input.name, input.instanceIds, CREATE_INSTANCE_FIELD);
  const board = new ProgressBoard('efs', input.name);
  board.add(VOLUME_ROW, input.requireAccessPoints ? 7 : 6);
  try {
    const volume = await ensureVolume(board, input, CREATE_INSTANCE_FIELD, false);
    if (!input.requireAccessPoints) return volume;
    const policy = await requireAccessPoints(board, VOLUME_ROW, volume.fileSystemId);
    await board.finish(VOLUME_ROW);
    return { ...volume, policy };
  } catch (error) {
    await board.finish(VOLUME_ROW, error);
    throw error;
  } finally {
    board.done();
  }
}

export interface EfsInstanceInput {
  volume: string;
  instanceId: string;
  /**
   * What to plan: the child builds its own steps from the settings (pure domain code), so a parent with
   * hundreds of children does not carry every script in one workflow task.
   */
  plan?: { action: EfsPlan['action']; request: EfsMountRequest };
  /** Ready-made steps instead (benchmarks run a fixed script this way). */
  steps?: PlannedStep[];
  /** The install route the parent chose from the instance's facts; absent: the installEfsUtils script runs. */
  install?: InstallRoute;
}

/** The parent already ran the read-only facts step; a child runs only what changes the instance. */
function instanceSteps(input: EfsInstanceInput): PlannedStep[] {
  if (input.steps) return input.steps;
  if (!input.plan) throw ApplicationFailure.nonRetryable('efsInstanceWorkflow needs a plan or steps', 'InvalidInput');
  const request = { ...input.plan.request, instanceIds: [input.instanceId] };
  const plan = input.plan.action === 'mount' ? planEfsMount : planEfsUnmount;
  return decide(() => plan(request)).instances[0].steps.filter((step) => step.step !== 'gatherInstanceFacts');
}

/** One step on the instance: its script through SSM, or for efs-utils elsewhere than Amazon Linux the Distributor package. */
async function runInstanceStep(board: ProgressBoard, input: EfsInstanceInput, step: PlannedStep): Promise<void> {
  const { instanceId } = input;
  if (step.step === 'installEfsUtils' && input.install?.kind === 'distributor') {
    const { packageName } = input.install;
    await board.step(
      instanceId,
      step.step,
      async () => {
        try {
          return await polling.installPackageOnInstance.executeWithOptions(
            { summary: `install the Distributor package ${packageName} on ${instanceId} (AWS-ConfigureAWSPackage)` },
            [{ instanceId, packageName }],
          );
        } catch (error) {
          throw ApplicationFailure.nonRetryable(distributorFailureAdvice(instanceId, errorMessage(error)), 'efs-utils-not-installable');
        }
      },
      (r) => (r.changed.length ? r.changed.join(', ') : undefined),
    );
    return;
  }
  await board.step(
    instanceId,
    step.step,
    () => polling.runStepOnInstance.executeWithOptions({ summary: step.summary }, [{ instanceId, step: step.step, script: step.script }]),
    (r) => (r.changed.length ? r.changed.join(', ') : undefined),
  );
}

/** One instance: its steps in order, each an idempotent SSM command. The ID keeps mount and unmount apart. */
export async function efsInstanceWorkflow(input: EfsInstanceInput): Promise<InstanceChildResult> {
  const board = new ProgressBoard('efs', input.volume, true);
  const steps = instanceSteps(input);
  board.add(input.instanceId, steps.length);
  try {
    for (const step of steps) await runInstanceStep(board, input, step);
    await board.finish(input.instanceId);
    return { instanceId: input.instanceId, ok: true, changes: board.row(input.instanceId).changes, rows: board.rows() };
  } catch (error) {
    await board.finish(input.instanceId, error);
    throw error;
  } finally {
    board.done();
  }
}

async function fanOutInstances(
  board: ProgressBoard,
  plan: EfsPlan,
  request: EfsMountRequest,
  concurrency: number,
  installRoutes: ReadonlyMap<string, InstallRoute> = new Map(),
): Promise<InstanceResult[]> {
  const outcomes = await withConcurrency(plan.instances, concurrency, (instance) => {
    board.start(instance.instanceId);
    return executeChild(efsInstanceWorkflow, {
      workflowId: efsInstanceWorkflowId(plan.volumeName, instance.instanceId),
      args: [
        {
          volume: plan.volumeName,
          instanceId: instance.instanceId,
          plan: { action: plan.action, request: { ...request, instanceIds: [instance.instanceId] } },
          install: installRoutes.get(instance.instanceId),
        },
      ],
      staticSummary: `${plan.action} ${plan.fileSystemId} at ${plan.mountPoint} on ${instance.instanceId}`,
      typedSearchAttributes: runSearchAttributes('efs', [plan.volumeName], [instance.instanceId]),
    });
  });
  return Promise.all(
    outcomes.map(async (outcome, index) => {
      const instanceId = plan.instances[index].instanceId;
      if (outcome.status === 'fulfilled') {
        const { rows, ...result } = outcome.value;
        await board.adopt(rows, [instanceId]);
        return result;
      }
      const row = board.row(instanceId);
      if (row.state !== 'failed') await board.finish(instanceId, outcome.reason);
      return { instanceId, ok: false, changes: row.changes, error: errorMessage(outcome.reason) };
    }),
  );
}

/** The run's plan; bad settings fail the run (and its open rows) before any instance is touched. */
async function planOrFail(board: ProgressBoard, openRows: readonly string[], plan: () => EfsPlan): Promise<EfsPlan> {
  try {
    return decide(plan);
  } catch (error) {
    for (const row of openRows) await board.finish(row, error);
    board.done();
    throw error;
  }
}

interface GatheredFacts {
  identities: EfsIdentities;
  /** Instances whose facts could not be read: they fail alone. */
  failed: InstanceResult[];
}

/**
 * The read-only first step on every instance, a bounded number at once. Collisions are counted among the users
 * the run acts for: the named ones (--user) when given, else every detected login user.
 */
async function gatherFacts(
  board: ProgressBoard,
  plan: EfsPlan,
  concurrency: number,
  batched?: ReadonlyMap<string, InstanceStepOutcome>,
): Promise<GatheredFacts> {
  const outcomes = await withConcurrency(plan.instances, concurrency, async (instance) => {
    const step = instance.steps.find((s) => s.step === 'gatherInstanceFacts');
    if (!step) throw ApplicationFailure.nonRetryable('the mount plan has no gatherInstanceFacts step', 'InvalidInput');
    const result = await board.step(instance.instanceId, step.step, async () => {
      if (!batched)
        return polling.runStepOnInstance.executeWithOptions({ summary: step.summary }, [
          { instanceId: instance.instanceId, step: step.step, script: step.script },
        ]);
      const outcome = batched.get(instance.instanceId);
      if (!outcome?.ok) throw ApplicationFailure.nonRetryable(outcome?.error ?? 'no result came back', 'StepFailed');
      return outcome;
    });
    const facts = parseInstanceFacts(instance.instanceId, result.stdout);
    return plan.users.length > 0 ? { ...facts, users: facts.users.filter((u) => plan.users.includes(u.name)) } : facts;
  });
  const instances: InstanceFacts[] = [];
  const failed: InstanceResult[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const instanceId = plan.instances[index].instanceId;
    if (outcome.status === 'fulfilled') {
      instances.push(outcome.value);
      continue;
    }
    await board.finish(instanceId, outcome.reason);
    failed.push({ instanceId, ok: false, changes: [], error: `gatherInstanceFacts: ${errorMessage(outcome.reason)}` });
  }
  return { identities: { instances, collisions: findIdentityCollisions(instances) }, failed };
}

/** The instances the facts came back for, each with the install route its os-release calls for. */
function installRoutesOf(identities: EfsIdentities): Map<string, InstallRoute> {
  return new Map(identities.instances.map((facts) => [facts.instanceId, chooseInstallRoute(facts)]));
}

/** `sharemount efs mount`: ensure the volume, then every instance, and report each instance's result. */
export async function efsMountWorkflow(input: EfsMountInput): Promise<EfsRunResult> {
  checkTargets(input.volumeName, input.instanceIds, undefined, input.tags);
  const board = new ProgressBoard('efs', input.volumeName);
  const throughAccessPoint = input.identity === 'access-point';
  board.add(VOLUME_ROW, 7 + (throughAccessPoint ? 1 : 0) + (input.tags?.length ? 1 : 0));
  input.instanceIds.forEach((id) => board.add(id, EFS_MOUNT_STEPS.length));
  let volume: EfsVolumeResult;
  let accessPointId: string | undefined;
  let fleet: ResolvedFleet = { instanceIds: input.instanceIds };
  try {
    fleet = await resolveFleet(board, input, EFS_MOUNT_STEPS.length);
    if (fleet.instanceIds.length === 0) {
      await board.finish(VOLUME_ROW);
      return emptyFleet(board, input.volumeName, '', fleet);
    }
    volume = await ensureVolume(board, { name: input.volumeName, instanceIds: fleet.instanceIds }, MOUNT_INSTANCE_FIELD, true);
    if (throughAccessPoint) {
      accessPointId = await ensureSharedAccessPoint(board, VOLUME_ROW, { ...input, fileSystemId: volume.fileSystemId });
      await board.finish(VOLUME_ROW);
    }
  } catch (error) {
    await board.finish(VOLUME_ROW, error);
    for (const id of fleet.instanceIds) await board.finish(id, `the file system is not ready: ${errorMessage(error)}`);
    board.done();
    throw error;
  }
  const unknown: InstanceResult[] = [];
  for (const { instanceId, reason } of volume.unknownInstances) {
    await board.finish(instanceId, reason);
    unknown.push({ instanceId, ok: false, changes: [], error: reason });
  }
  const reachable = fleet.instanceIds.filter((id) => !volume.unknownInstances.some((u) => u.instanceId === id));
  const request = { ...requestOf(input), instanceIds: reachable, fileSystemId: volume.fileSystemId, ...(accessPointId ? { accessPointId } : {}) };
  const plan = await planOrFail(board, reachable, () => planEfsMount(request));
  const concurrency = input.concurrency ?? 10;
  if (input.batchSsm)
    return { ...(await mountInBatches(board, input, volume.fileSystemId, plan, fleet, unknown)), ...(accessPointId ? { accessPointId } : {}) };
  if (!patched(GATHER_FACTS_PATCH)) {
    const instances = [...(await fanOutInstances(board, plan, request, concurrency)), ...unknown];
    board.done();
    return { volume: input.volumeName, fileSystemId: volume.fileSystemId, ok: instances.every((i) => i.ok), instances };
  }
  const gathered = await gatherFacts(board, plan, concurrency);
  const routes = installRoutesOf(gathered.identities);
  const converged = patched(SKIP_CONVERGED_PATCH) ? await finishConverged(board, gathered.identities) : [];
  const ready = { ...plan, instances: plan.instances.filter((i) => routes.has(i.instanceId) && !converged.some((c) => c.instanceId === i.instanceId)) };
  const instances = [...(await fanOutInstances(board, ready, request, concurrency, routes)), ...converged, ...gathered.failed, ...unknown];
  board.done();
  return {
    volume: input.volumeName,
    fileSystemId: volume.fileSystemId,
    ok: instances.every((i) => i.ok),
    instances,
    identities: gathered.identities,
    ...(fleet.report ? { fleet: fleet.report } : {}),
    ...(accessPointId ? { accessPointId } : {}),
  };
}

/** The mount's instance steps with batched SSM: the facts, then each later step, one SendCommand per 50 instances. */
async function mountInBatches(
  board: ProgressBoard,
  input: EfsMountInput,
  fileSystemId: string,
  plan: EfsPlan,
  fleet: ResolvedFleet,
  unknown: InstanceResult[],
): Promise<EfsRunResult> {
  const meter: SsmMeter = { calls: 0 };
  const factsScripts = plan.instances.map((i) => ({ instanceId: i.instanceId, script: i.steps.find((s) => s.step === 'gatherInstanceFacts')?.script ?? '' }));
  const facts = await runStepInBatches('gatherInstanceFacts', factsScripts, meter);
  const gathered = await gatherFacts(board, plan, plan.instances.length, facts);
  const routes = installRoutesOf(gathered.identities);
  const converged = await finishConverged(board, gathered.identities);
  const ready = { ...plan, instances: plan.instances.filter((i) => routes.has(i.instanceId) && !converged.some((c) => c.instanceId === i.instanceId)) };
  const instances = [...(await runInstancesInBatches(board, ready, routes, meter)), ...converged, ...gathered.failed, ...unknown];
  board.done();
  return {
    volume: input.volumeName,
    fileSystemId,
    ok: instances.every((i) => i.ok),
    instances,
    identities: gathered.identities,
    ...(fleet.report ? { fleet: fleet.report } : {}),
    ssmCalls: meter.calls,
  };
}

/** Instances the facts step found with everything in place: done, with no change, after that one command. */
async function finishConverged(board: ProgressBoard, identities: EfsIdentities): Promise<InstanceResult[]> {
  const converged = identities.instances.filter((facts) => facts.converged);
  for (const { instanceId } of converged) await board.finish(instanceId);
  return converged.map(({ instanceId }) => ({ instanceId, ok: true, changes: [], converged: true }));
}

/** Tags that match nothing now (an auto-scaling group at zero): nothing to do, and not a failure. */
function emptyFleet(board: ProgressBoard, volumeName: string, fileSystemId: string, fleet: ResolvedFleet): EfsRunResult {
  board.done();
  return { volume: volumeName, fileSystemId, ok: true, instances: [], ...(fleet.report ? { fleet: fleet.report } : {}) };
}

/** `sharemount efs unmount`: unmount by mount point and remove exactly that fstab line; the data stays. */
export async function efsUnmountWorkflow(input: EfsMountInput): Promise<EfsRunResult> {
  checkTargets(input.volumeName, input.instanceIds, undefined, input.tags);
  const board = new ProgressBoard('efs', input.volumeName);
  board.add(VOLUME_ROW, 1 + (input.deleteAccessPoint ? 1 : 0) + (input.tags?.length ? 1 : 0));
  const fleet = await resolveFleet(board, input, EFS_UNMOUNT_STEPS.length);
  const found = await board.step(VOLUME_ROW, 'findFileSystem', () =>
    aws.findFileSystem.executeWithOptions({ summary: `find the file system of volume ${input.volumeName}` }, [{ name: input.volumeName }]),
  );
  if (!found) {
    const error = ApplicationFailure.nonRetryable(`no EFS file system for volume ${input.volumeName}`, 'FileSystemNotFound');
    await board.finish(VOLUME_ROW, error);
    board.done();
    throw error;
  }
  await board.finish(VOLUME_ROW);
  const request = { ...requestOf(input), instanceIds: fleet.instanceIds, fileSystemId: found.fileSystemId };
  if (fleet.instanceIds.length === 0) return emptyFleet(board, input.volumeName, found.fileSystemId, fleet);
  const plan = await planOrFail(board, [], () => planEfsUnmount(request));
  plan.instances.forEach((instance) => board.add(instance.instanceId, instance.steps.length));
  const instances = await fanOutInstances(board, plan, request, input.concurrency ?? 10);
  const ok = instances.every((i) => i.ok);
  // An instance still mounted may be using the access point: it is deleted only after every unmount worked.
  const deletedAccessPoints =
    input.deleteAccessPoint && ok ? await deleteSharedAccessPoint(board, VOLUME_ROW, { ...input, fileSystemId: found.fileSystemId }) : undefined;
  if (deletedAccessPoints) await board.finish(VOLUME_ROW);
  board.done();
  return {
    volume: input.volumeName,
    fileSystemId: found.fileSystemId,
    ok,
    instances,
    ...(fleet.report ? { fleet: fleet.report } : {}),
    ...(deletedAccessPoints ? { deletedAccessPoints } : {}),
  };
}
