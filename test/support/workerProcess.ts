/**
 * A real sharemount worker in a process of its own, for tests that SIGKILL it (test/durability/*). It
 * registers the production activities (createActivities) built with the test's dependencies (moto and the
 * SSM agent emulator as AWS endpoints, the stand-in pct, a pve dir, a running dir) and the production
 * workflow bundle, and polls the task queues the test names. Started by startWorkerProcess() below through
 * `node -r test/support/register-ts.js`, configured by one JSON env var so a restart is the same worker.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WorkerProcessConfig {
  /** Temporal frontend, host:port. */
  address: string;
  namespace?: string;
  /** The prebuilt workflow bundle (jest's globalSetup makes one from src/workflows). */
  bundle: string;
  taskQueues: string[];
  /** LXC side. */
  pveDir?: string;
  pct?: string;
  pctLog?: string;
  runningDir?: string;
  /** AWS side: every client goes to awsEndpoint, SSM to ssmEndpoint when given. */
  awsEndpoint?: string;
  ssmEndpoint?: string;
  region?: string;
  pollIntervalMs?: number;
  invocationGraceMs?: number;
  maxConcurrentActivities?: number;
}

const ENV = 'SHAREMOUNT_TEST_WORKER';

async function main(): Promise<void> {
  const config = JSON.parse(process.env[ENV] ?? '') as WorkerProcessConfig;
  const { NativeConnection, Runtime, Worker, DefaultLogger, makeTelemetryFilterString } = await import('@temporalio/worker');
  const { createActivities } = await import('../../src/activities');
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const aws = { region: config.region ?? 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const activities = createActivities({
    pveDir: config.pveDir,
    pct: config.pct,
    pctEnv: config.pveDir ? { SHAREMOUNT_PVE_DIR: config.pveDir, ...(config.pctLog ? { SHAREMOUNT_PCT_LOG: config.pctLog } : {}) } : undefined,
    runningDir: config.runningDir,
    awsIdentity: async () => ({ region: config.region ?? 'us-east-1', credentialsSource: 'test' }),
    efs: new EFSClient({ ...aws, endpoint: config.awsEndpoint }),
    ec2: new EC2Client({ ...aws, endpoint: config.awsEndpoint }),
    ssm: new SSMClient({ ...aws, endpoint: config.ssmEndpoint ?? config.awsEndpoint }),
    pollIntervalMs: config.pollIntervalMs,
    invocationGraceMs: config.invocationGraceMs,
  });
  const connection = await NativeConnection.connect({ address: config.address });
  const workers = await Promise.all(
    config.taskQueues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace: config.namespace ?? 'default',
        taskQueue,
        activities,
        workflowBundle: { codePath: config.bundle },
        maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities ?? 20,
      }),
    ),
  );
  const stop = () => workers.forEach((w) => w.shutdown());
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const running = Promise.all(workers.map((w) => w.run()));
  process.stdout.write(`READY ${process.pid}\n`);
  await running;
  await connection.close();
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** SIGKILL by pid (a crash: no shutdown, no goodbye to the server) and wait until it is gone. */
  kill(signal?: NodeJS.Signals): Promise<string>;
}

const live = new Set<WorkerProcess>();

/** Starts the worker process and resolves once it polls (its READY line), or rejects with its log. */
export async function startWorkerProcess(config: WorkerProcessConfig, logFile: string): Promise<WorkerProcess> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'register-ts.js'), __filename], {
    env: { ...process.env, [ENV]: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', log],
  });
  fs.closeSync(log);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(String(signal ?? code))));
  const worker: WorkerProcess = {
    pid: child.pid!,
    child,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const how = await exited;
      live.delete(worker);
      return how;
    },
  };
  live.add(worker);
  exited.then(
    () => live.delete(worker),
    () => undefined,
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`worker process did not report READY within 60 s (log: ${logFile})`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${how}) before READY: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`));
    });
  });
  return worker;
}

/** For afterAll hooks: SIGKILL every worker process a test left running. */
export async function killAllWorkerProcesses(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill('SIGKILL')));
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`worker process failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
