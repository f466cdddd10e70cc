/**
 * The identity registry under crashes. Its worker (a separate process) is SIGKILLed while adds are in flight
 * and restarted; then its Temporal dev server, history in a SQLite file, is SIGKILLed mid-adds and restarted
 * from that file. Every add ends with exactly one UID per person, all different, and what was registered
 * before a crash is still registered, with the same UID, after it.
 */
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addToRegistry, listRegistry } from '../../src/cli/registry';
import type { AddPersonResult } from '../../src/domain/identity';
import { startDevServer, type DevServer } from '../../src/temporal/devServer';
import { sleep, tmpLogDir } from '../support/fleet';
import { testServerAddress, uniqueTaskQueue } from '../support/temporal';
import { killAllWorkerProcesses, startWorkerProcess, type WorkerProcess, type WorkerProcessConfig } from '../support/workerProcess';

const taskQueue = uniqueTaskQueue('registry-crash');
process.env.SHAREMOUNT_TASK_QUEUE = taskQueue;

/** Adds a person the way an operator does: a command that failed while the server was down is run again. */
async function addUntilAnswered(client: () => Client, registry: string, name: string, deadline: number): Promise<AddPersonResult> {
  for (;;) {
    try {
      return await addToRegistry(client(), registry, { name });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(300);
    }
  }
}

function expectOneUidEach(results: AddPersonResult[], names: string[]): void {
  const byName = new Map(results.map((r) => [r.person.name, r.person.uid]));
  expect([...byName.keys()].sort()).toEqual([...names].sort());
  const uids = [...byName.values()];
  expect(new Set(uids).size).toBe(names.length);
  expect([...uids].sort()).toEqual(names.map((_, i) => 2000 + i));
}

describe('identity registry under crashes', () => {
  const dir = tmpLogDir('registry-crash');
  let server: DevServer | undefined;
  const connections: Connection[] = [];

  afterAll(async () => {
    await killAllWorkerProcesses();
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    server?.process.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const workerConfig = (address: string): WorkerProcessConfig => ({ address, bundle: process.env.SHAREMOUNT_TEST_WORKFLOW_BUNDLE!, taskQueues: [taskQueue] });

  test('worker SIGKILLed while adds are in flight: every add completes once, UIDs all different', async () => {
    const connection = await Connection.connect({ address: testServerAddress() });
    connections.push(connection);
    const client = new Client({ connection });
    const registry = `crash${taskQueue.slice(-8)}`;
    let generation = 0;
    const start = () => startWorkerProcess(workerConfig(testServerAddress()), path.join(dir, `worker-${generation++}.log`));
    let worker: WorkerProcess = await start();
    const names = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const results: Promise<AddPersonResult>[] = [];
    for (const [wave, kill] of [
      [names.slice(0, 10), true],
      [names.slice(10, 20), true],
      [names.slice(20), false],
    ] as const) {
      results.push(...wave.map((name) => addToRegistry(client, registry, { name })));
      if (!kill) continue;
      await sleep(30); // the updates are on their way to the worker, some accepted, some not yet
      await worker.kill('SIGKILL');
      await sleep(500);
      worker = await start();
    }
    const all = await Promise.all(results);
    expectOneUidEach(all, names);
    // Adding them again changes nothing: same UIDs, nothing created.
    const again = await Promise.all(names.map((name) => addToRegistry(client, registry, { name })));
    expect(again.every((r) => !r.created)).toBe(true);
    expect(again.map((r) => r.person.uid)).toEqual(names.map((n) => all.find((r) => r.person.name === n)!.person.uid));
    expect((await listRegistry(client, registry)).people).toHaveLength(names.length);
    await worker.kill('SIGTERM');
  }, 180_000);

  test('server SIGKILLed mid-adds and restarted from its SQLite file: nothing registered is lost or renumbered', async () => {
    const dbFile = path.join(dir, 'temporal.sqlite');
    const logFile = path.join(dir, 'temporal.log');
    server = await startDevServer({ dbFile, uiPort: false, logFile });
    const address = server.address;
    const port = Number(address.split(':').pop());
    let connection = await Connection.connect({ address });
    connections.push(connection);
    let client = new Client({ connection });
    let generation = 0;
    const startWorker = () => startWorkerProcess(workerConfig(address), path.join(dir, `srv-worker-${generation++}.log`));
    let worker = await startWorker();
    const registry = 'team';

    const before = await Promise.all(['alice', 'bob', 'carol'].map((name) => addToRegistry(client, registry, { name })));
    const names = [...before.map((r) => r.person.name), ...Array.from({ length: 12 }, (_, i) => `s${i}`)];
    const deadline = Date.now() + 120_000;
    const inFlight = names.slice(3).map((name) => addUntilAnswered(() => client, registry, name, deadline));
    await sleep(50);
    server.process.kill('SIGKILL');
    await new Promise((resolve) => server!.process.once('exit', resolve));
    await sleep(1000);
    server = await startDevServer({ dbFile, port, uiPort: false, logFile });
    // A fresh connection, as a new command would open; the old one reconnects too, but may wait out its backoff.
    connection = await Connection.connect({ address });
    connections.push(connection);
    client = new Client({ connection });
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) worker = await startWorker();
    const watchdog = setInterval(() => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) void startWorker().then((w) => (worker = w));
    }, 1000);
    try {
      const after = [...before, ...(await Promise.all(inFlight))];
      expectOneUidEach(after, names);
      const listing = await listRegistry(client, registry);
      const uidOf = new Map(listing.people.map((p) => [p.name, p.uid]));
      expect(before.map((r) => [r.person.name, uidOf.get(r.person.name)])).toEqual(before.map((r) => [r.person.name, r.person.uid]));
      expect(listing.people).toHaveLength(names.length);
    } finally {
      clearInterval(watchdog);
    }
    await worker.kill('SIGTERM');
  }, 240_000);
});
