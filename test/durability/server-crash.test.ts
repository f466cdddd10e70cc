/**
 * Server crash: the test's own Temporal dev server, its state in a SQLite file in a tmp dir, is SIGKILLed
 * mid-run and restarted on the same port with the same file, twice. The worker (a separate process) and the
 * client reconnect; the run completes and every target converges with nothing duplicated.
 */
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { efsRunWorkflowId, lxcApplyWorkflowId } from '../../src/domain/workflowIds';
import { startDevServer, type DevServer } from '../../src/temporal/devServer';
import type { EfsRunResult, LxcApplyResult } from '../../src/workflows';
import {
  checkEfsFleet,
  checkLxcFleet,
  EfsFleet,
  fleetWorkerConfig,
  LxcFleet,
  makeEfsFleet,
  makeLxcFleet,
  pctSetCounts,
  seededRandom,
  sentCounts,
  sleep,
  tmpLogDir,
} from '../support/fleet';
import { describeNeeding, needs } from '../support/requires';
import { killAllWorkerProcesses, startWorkerProcess, WorkerProcess } from '../support/workerProcess';

const SERVER_KILLS = Number(process.env.SHAREMOUNT_SERVER_KILLS ?? 2);

/** Waits for a workflow's result across server outages: the long poll fails while the server is down. */
async function resultAcrossOutages<T>(handle: () => WorkflowHandle, deadline: number): Promise<T> {
  for (;;) {
    try {
      return (await handle().result()) as T;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'WorkflowFailedError' || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

describeNeeding([needs.rootNamespaces()], 'Temporal dev server SIGKILLed mid-run and restarted from its SQLite file', () => {
  const dir = tmpLogDir('server-crash');
  let server: DevServer | undefined;
  let lxc: LxcFleet | undefined;
  let efs: EfsFleet | undefined;
  let connection: Connection | undefined;

  afterAll(async () => {
    await killAllWorkerProcesses();
    await connection?.close().catch(() => undefined);
    server?.process.kill('SIGKILL');
    await efs?.cleanup();
    lxc?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the run completes and converges', async () => {
    const seed = Number(process.env.SHAREMOUNT_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const dbFile = path.join(dir, 'temporal.sqlite');
    const logFile = path.join(dir, 'temporal.log');
    // The first start picks a free port (retrying if it is taken meanwhile); restarts keep it, as clients expect.
    server = await startDevServer({ dbFile, uiPort: false, logFile });
    const port = Number(server.address.split(':').pop());
    const startServer = () => startDevServer({ dbFile, port, uiPort: false, logFile });
    const address = server.address;

    lxc = makeLxcFleet('srvcrash', 400);
    efs = await makeEfsFleet('srvcrash', 3, { invisiblePolls: 1 });
    const lxcQueue = 'lxc:srvcrash';
    const generalQueue = 'sharemount';
    const config = fleetWorkerConfig(address, lxcQueue, generalQueue, lxc, efs);
    let generation = 0;
    let worker: WorkerProcess = await startWorkerProcess(config, path.join(dir, `worker-${generation++}.log`));
    let workerRestarts = 0;

    connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const began = Date.now();
    await client.workflow.start('lxcApplyWorkflow', {
      taskQueue: lxcQueue,
      workflowId: lxcApplyWorkflowId('srvcrash'),
      args: [{ node: 'srvcrash', volumes: lxc.volumes, fixDrift: false, fullScan: false, concurrency: 1 }],
    });
    await client.workflow.start('efsMountWorkflow', {
      taskQueue: generalQueue,
      workflowId: efsRunWorkflowId('mount', 'srvcrash'),
      args: [{ volumeName: 'srvcrash', instanceIds: efs.instanceIds, concurrency: 10 }],
    });

    const outages: Array<{ atMs: number; downMs: number; sentBefore: number; pctBefore: number }> = [];
    const stepsDone = () => efs!.emulator.sent.length + [...pctSetCounts(lxc!).values()].reduce((a, b) => a + b, 0);
    for (let k = 0; k < SERVER_KILLS; k++) {
      // Kill once the run has made progress since the last restart, at a random moment after that.
      const progressFrom = stepsDone();
      const waitUntil = Date.now() + 60_000;
      while (stepsDone() === progressFrom && Date.now() < waitUntil) await sleep(50);
      await sleep(Math.round(random() * 1500));
      const sentBefore = efs.emulator.sent.length;
      const pctBefore = [...pctSetCounts(lxc).values()].reduce((a, b) => a + b, 0);
      const killedAt = Date.now();
      server.process.kill('SIGKILL');
      await new Promise((resolve) => server!.process.once('exit', resolve));
      await sleep(Math.round(500 + random() * 1500));
      server = await startServer();
      outages.push({ atMs: killedAt - began, downMs: Date.now() - killedAt, sentBefore, pctBefore });
      // A worker that gave up on the server while it was down is started again, as systemd would.
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
        worker = await startWorkerProcess(config, path.join(dir, `worker-${generation++}.log`));
        workerRestarts++;
      }
    }
    const deadline = Date.now() + 240_000;
    const watchdog = setInterval(() => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
        workerRestarts++;
        void startWorkerProcess(config, path.join(dir, `worker-${generation++}.log`)).then((w) => (worker = w));
      }
    }, 1000);
    let lxcResult: LxcApplyResult;
    let efsResult: EfsRunResult;
    try {
      lxcResult = await resultAcrossOutages<LxcApplyResult>(() => client.workflow.getHandle(lxcApplyWorkflowId('srvcrash')), deadline);
      efsResult = await resultAcrossOutages<EfsRunResult>(() => client.workflow.getHandle(efsRunWorkflowId('mount', 'srvcrash')), deadline);
    } finally {
      clearInterval(watchdog);
    }
    const durationMs = Date.now() - began;

    expect(lxcResult.ok).toBe(true);
    expect(efsResult.ok).toBe(true);
    expect(efsResult.instances.every((i) => i.ok)).toBe(true);
    const lxcState = checkLxcFleet(lxc);
    expect(lxcState).toMatchObject({ wrongOwners: [], missingMounts: [], duplicates: [] });
    const efsState = await checkEfsFleet(efs);
    expect(efsState).toEqual({ notConverged: [], duplicates: [] });
    const pct = pctSetCounts(lxc);
    const mounts = lxc.volumes.reduce((n, v) => n + v.mounts.length, 0);
    expect([...pct.values()].reduce((a, b) => a + b, 0)).toBe(mounts);
    // The outages were mid-run: work was both done before the first kill and left for after it.
    const total = mounts + efs.instanceIds.length * 7;
    const doneBeforeFirst = outages[0].sentBefore + outages[0].pctBefore;
    for (const outage of outages) {
      expect(outage.sentBefore + outage.pctBefore).toBeGreaterThan(0);
      expect(outage.sentBefore + outage.pctBefore).toBeLessThan(total);
    }
    const sent = sentCounts(efs);
    const rerun = [...sent.values()].reduce((a, b) => a + b - 1, 0);

    console.log(
      `SUMMARY ${JSON.stringify({
        scenario: 'server-crash',
        seed,
        targets: lxc.ctids.length + efs.instanceIds.length,
        serverKills: outages.length,
        outages,
        workerRestarts,
        stepsDoneBeforeFirstKill: doneBeforeFirst,
        stepsTotal: total,
        completed: [lxcResult.ok, efsResult.ok].filter(Boolean).length,
        ssmCommandsRerun: rerun,
        pctSetDuplicates: [...pct.values()].filter((n) => n > 1).length,
        duplicates: lxcState.duplicates.length + efsState.duplicates.length,
        wrongOwners: lxcState.wrongOwners.length,
        durationMs,
      })}`,
    );
  }, 300_000);
});
