import * as fs from 'node:fs';
import * as path from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NativeConnection, Runtime, Worker, WorkerOptions, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities, ActivityDeps } from './activities';
import { resolveAwsIdentity } from './host/aws/identity';
import { lxcTaskQueue } from './domain/taskQueues';
import { defaultNodeName, generalTaskQueue } from './temporal/connection';

export { defaultNodeName };
import type { TemporalSettings } from './temporal/connection';

export interface WorkerConfig {
  /** Poll the general queue (EFS, doctor, fan-out parents). */
  general: boolean;
  /** Proxmox node whose `lxc:<node>` queue this worker serves; omitted: no LXC queue. */
  node?: string;
  pveDir?: string;
  pct?: string;
  /** Names the node's pve-container version instead of asking dpkg. */
  pveContainerVersion?: string;
  /** Overrides for tests: activities to register instead of the real ones. */
  activities?: object;
  /** Dependencies to build the real activities with instead of the defaults (the demo's sandboxes). */
  activityDeps?: Partial<ActivityDeps>;
  maxConcurrentActivities?: number;
}

/** Real clients: region, credentials and endpoints (AWS_ENDPOINT_URL) come from the standard AWS chain. */
export function defaultActivityDeps(config: Pick<WorkerConfig, 'pveDir' | 'pct' | 'node' | 'pveContainerVersion'>): ActivityDeps {
  return {
    pct: config.pct ?? 'pct',
    pveDir: config.pveDir ?? '/etc/pve',
    // The node this worker serves is the one pct acts on and whose cluster directory is "here".
    ...(config.node === undefined ? {} : { nodeName: config.node }),
    ...(config.pveContainerVersion === undefined ? {} : { pveContainerVersion: config.pveContainerVersion }),
    awsIdentity: resolveAwsIdentity,
    efs: new EFSClient({}),
    ec2: new EC2Client({}),
    ssm: new SSMClient({}),
  };
}

let runtimeInstalled = false;
/** Must run before the first native connection: the Runtime is a process-wide singleton. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new (require('@temporalio/worker').DefaultLogger)(process.env.SHAREMOUNT_LOG_LEVEL ?? 'WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
}

/** A prebuilt bundle (npm run build) starts faster; in development the worker bundles src itself. */
function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = path.join(__dirname, 'workflow-bundle.js');
  if (__filename.endsWith('.js') && fs.existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('./workflows') };
}

export function taskQueuesFor(config: WorkerConfig): string[] {
  return [...(config.general ? [generalTaskQueue()] : []), ...(config.node ? [lxcTaskQueue(config.node)] : [])];
}

/**
 * Creates one worker per task queue on one connection. LXC steps touch the Proxmox host's own files, so
 * they run only on a worker that lives on that node and polls `lxc:<node>`.
 */
export async function createWorkers(connection: NativeConnection, namespace: string, config: WorkerConfig): Promise<Worker[]> {
  const activities = config.activities ?? createActivities({ ...defaultActivityDeps(config), ...config.activityDeps });
  const queues = taskQueuesFor(config);
  if (queues.length === 0) throw new Error('the worker polls no task queue: enable the general queue or name a node');
  const source = workflowSource();
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace,
        taskQueue,
        activities,
        ...source,
        // Most activities wait on SSM or AWS; a high cap lets a wide fan-out run at once.
        maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities ?? 200,
        // The walk heartbeats its resume cursor every thousand entries; the SDK's default throttle would
        // send one per ~48 s, so a killed walk would repeat up to that much work.
        maxHeartbeatThrottleInterval: '200 milliseconds',
        defaultHeartbeatThrottleInterval: '200 milliseconds',
        // No workflowFailureErrorTypes: workflows turn bad input into non-retryable failures themselves
        // (workflows/decide.ts), so a run never hangs on it whichever worker runs it.
      }),
    ),
  );
}

export async function connectWorker(settings: TemporalSettings & { address: string }): Promise<NativeConnection> {
  quietRuntime();
  return NativeConnection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey });
}

/** Runs until every worker stops (after `shutdown()` on each, e.g. on SIGINT). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.run()));
}
