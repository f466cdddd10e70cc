/**
 * The identity registry workflow on the real dev server: update-with-start creates it on the first add,
 * validators reject bad names and taken UIDs before anything reaches history, adds from two clients at the
 * same moment get different UIDs, and continue-as-new carries the state while keeping each run's history short.
 */
import { Client, Connection, WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { registryWorkflowId } from '../../src/domain/workflowIds';
import { InputError } from '../../src/domain/errors';
import { addToRegistry, listRegistry, removeFromRegistry, showInRegistry, lookupPeople } from '../../src/cli/registry';
import { addPersonUpdate, listQuery, registryWorkflow } from '../../src/workflows/registry';
import { testServerAddress, uniqueTaskQueue, withWorker } from '../support/temporal';

const taskQueue = uniqueTaskQueue('registry');
process.env.SHAREMOUNT_TASK_QUEUE = taskQueue;

const registryName = () => `t${randomUUID().slice(0, 8)}`;
let connections: Connection[] = [];
async function client(): Promise<Client> {
  const connection = await Connection.connect({ address: testServerAddress() });
  connections.push(connection);
  return new Client({ connection });
}

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  connections = [];
});

async function updateEvents(handle: WorkflowHandle): Promise<{ accepted: number; completed: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    accepted: events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    completed: events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
  };
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('identity registry workflow', () => {
  test('the first add creates the registry; a second add of the same name returns the same UID', async () => {
    const c = await client();
    const name = registryName();
    await withWorker({ taskQueue }, async () => {
      const first = await addToRegistry(c, name, { name: 'alice' });
      expect(first).toMatchObject({ created: true, person: { name: 'alice', uid: 2000, gid: 2000, groups: ['prism-shared'] } });
      expect(await addToRegistry(c, name, { name: 'alice' })).toMatchObject({ created: false, person: { uid: 2000 } });
      expect(await addToRegistry(c, name, { name: 'bob' })).toMatchObject({ person: { uid: 2001 } });
      expect(await showInRegistry(c, name, 'bob')).toMatchObject({ uid: 2001, gid: 2001 });
      expect(await showInRegistry(c, name, 'nobody-here')).toBeNull();
      expect(await lookupPeople(c, name, ['bob', 'alice', 'bob'])).toEqual([expect.objectContaining({ uid: 2001 }), expect.objectContaining({ uid: 2000 })]);
      await expect(lookupPeople(c, name, ['carol'])).rejects.toThrow(/--person: "carol" is not in registry/);
    });
  });

  test('validators reject a bad name, a reserved name and a taken or retired UID before anything is recorded', async () => {
    const c = await client();
    const name = registryName();
    await withWorker({ taskQueue }, async () => {
      await addToRegistry(c, name, { name: 'alice' });
      await addToRegistry(c, name, { name: 'bob', uid: 2500 });
      await removeFromRegistry(c, name, 'bob');
      const handle = c.workflow.getHandle(registryWorkflowId(name));
      const before = await updateEvents(handle);
      const rejected = await Promise.all([
        rejection(addToRegistry(c, name, { name: 'Bad Name' })),
        rejection(addToRegistry(c, name, { name: 'ubuntu' })),
        rejection(addToRegistry(c, name, { name: 'carol', uid: 2000 })),
        rejection(addToRegistry(c, name, { name: 'carol', uid: 2500 })),
        rejection(addToRegistry(c, name, { name: 'carol', config: { people: { first: 5000, last: 5999 } } })),
        rejection(removeFromRegistry(c, name, 'bob')),
      ]);
      expect(rejected.map((e) => (e instanceof InputError ? [e.field, e.problem.split(';')[0]] : String(e)))).toEqual([
        ['<name>', `"Bad Name" is not a Linux user name: lower-case letter or '_', then up to 31 of [a-z0-9_-]`],
        ['<name>', '"ubuntu" is a system or image account name'],
        ['--uid', '2000 belongs to alice'],
        ['--uid', expect.stringMatching(/^2500 belonged to bob, removed .*: a UID is never given twice$/)],
        ['--uid-range', 'this registry uses people 2000-9999, shared group prism-shared (3000)'],
        ['<name>', expect.stringMatching(/^"bob" was removed/)],
      ]);
      // A rejected update leaves no trace in history: validators run before an update is accepted.
      expect(await updateEvents(handle)).toEqual(before);
      expect((await listRegistry(c, name)).people.map((p) => p.name)).toEqual(['alice']);
    });
  });

  test('adds from two clients at the same moment all get different UIDs', async () => {
    const [one, two] = [await client(), await client()];
    const name = registryName();
    const people = Array.from({ length: 24 }, (_, i) => `p${i}`);
    await withWorker({ taskQueue }, async () => {
      const results = await Promise.all(people.map((person, i) => addToRegistry(i % 2 ? one : two, name, { name: person })));
      const uids = results.map((r) => r.person.uid);
      expect(new Set(uids).size).toBe(people.length);
      expect([...uids].sort()).toEqual(people.map((_, i) => 2000 + i));
      expect(results.every((r) => r.created)).toBe(true);
      // Exactly one run was created by the racing update-with-starts.
      const runs = [];
      for await (const run of one.workflow.list({ query: `WorkflowId = "${registryWorkflowId(name)}"` })) runs.push(run.runId);
      expect(runs).toHaveLength(1);
    });
  });

  test('continue-as-new after N updates carries every person and keeps each run short', async () => {
    const c = await client();
    const name = registryName();
    const workflowId = registryWorkflowId(name);
    await withWorker({ taskQueue }, async () => {
      const add = (person: string) =>
        c.workflow.executeUpdateWithStart(addPersonUpdate, {
          args: [{ name: person }],
          startWorkflowOperation: new WithStartWorkflowOperation(registryWorkflow, {
            workflowId,
            taskQueue,
            args: [{ name, updatesPerRun: 3 }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
      const uids: number[] = [];
      for (let i = 0; i < 10; i++) uids.push((await add(`u${i}`)).person.uid);
      expect(uids).toEqual(Array.from({ length: 10 }, (_, i) => 2000 + i));
      const handle = c.workflow.getHandle(workflowId);
      expect((await handle.query(listQuery)).people).toHaveLength(10);
      const runs: string[] = [];
      for await (const run of c.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run.status.name);
      expect(runs.filter((s) => s === 'CONTINUED_AS_NEW')).toHaveLength(3);
      expect(runs.filter((s) => s === 'RUNNING')).toHaveLength(1);
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.length).toBeLessThan(40);
    });
  });
});
