/**
 * `sharemount users` as an operator runs it: the built CLI against the suite's dev server, with a worker in
 * this process serving the registry's task queue.
 */
import { randomUUID } from 'node:crypto';
import { runCli } from '../support/cliProcess';
import { uniqueTaskQueue, withWorker } from '../support/temporal';

const taskQueue = uniqueTaskQueue('cli-users');
const env = { SHAREMOUNT_TASK_QUEUE: taskQueue };

const users = (args: string[], extra: Record<string, string> = {}) => runCli(['users', ...args], { ...env, ...extra });
const json = (result: { code: number; stdout: string; stderr: string }) => {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout);
};

describe('sharemount users', () => {
  const registry = `cli${randomUUID().slice(0, 8)}`;
  const r = ['--registry', registry];

  test('add, add again, two adds at once, show, list, remove: JSON with uid and gid', async () => {
    await withWorker({ taskQueue }, async () => {
      const alice = json(await users(['add', 'alice', ...r, '--json']));
      expect(alice).toMatchObject({
        registry,
        workflowId: `sharemount-registry-${registry}`,
        created: true,
        name: 'alice',
        uid: 2000,
        gid: 2000,
        groups: ['prism-shared'],
      });
      expect(json(await users(['add', 'alice', ...r, '--json']))).toMatchObject({ created: false, uid: 2000, gid: 2000 });

      const [bob, carol] = (await Promise.all([users(['add', 'bob', ...r, '--json']), users(['add', 'carol', ...r, '--json'])])).map(json);
      expect(new Set([bob.uid, carol.uid, 2000]).size).toBe(3);
      expect([bob.uid, carol.uid].sort()).toEqual([2001, 2002]);

      expect(json(await users(['show', 'bob', ...r, '--json']))).toMatchObject({ name: 'bob', uid: bob.uid, gid: bob.uid });
      const listing = json(await users(['list', ...r, '--json']));
      expect(listing).toMatchObject({ registry, sharedGroup: { name: 'prism-shared', gid: 3000 }, range: { first: 2000, last: 9999 } });
      expect(listing.people.map((p: { name: string; uid: number; gid: number }) => [p.name, p.uid, p.gid])).toEqual([
        ['alice', 2000, 2000],
        ...[bob, carol].sort((a, b) => a.uid - b.uid).map((p) => [p.name, p.uid, p.gid]),
      ]);

      expect(json(await users(['remove', 'alice', ...r, '--json']))).toMatchObject({ name: 'alice', uid: 2000, retired: true });
      const gone = await users(['show', 'alice', ...r]);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toMatch(/<name>: alice is not in registry .*; add them with `sharemount users add alice`/);
      // The retired UID is not given again.
      const reuse = await users(['add', 'dave', '--uid', '2000', ...r]);
      expect(reuse.code).toBe(2);
      expect(reuse.stderr).toMatch(/error: --uid: 2000 belonged to alice, removed .*: a UID is never given twice; leave --uid out/);
      expect(json(await users(['add', 'dave', ...r, '--json'])).uid).toBe(2003);
    });
  }, 180_000);

  test('bad input ends with exit 2, naming the field and the fix, and records nothing', async () => {
    await withWorker({ taskQueue }, async () => {
      const fresh = ['--registry', `bad${randomUUID().slice(0, 8)}`];
      for (const [args, message] of [
        [['add', 'Bad;Name', ...fresh], /error: <name>: "Bad;Name" is not a Linux user name/],
        [['add', 'ubuntu', ...fresh], /error: <name>: "ubuntu" is a system or image account name; choose the person's own name/],
        [['add', 'erin', '--uid', '12ab', ...fresh], /error: --uid: "12ab" is not a whole number/],
        [['add', 'erin', '--uid-range', '9-1', ...fresh], /error: --uid-range: 9-1 is empty/],
        [['add', 'erin', '--registry', 'a b'], /error: --registry: "a b" is not a volume name/],
      ] as const) {
        const result = await users([...args]);
        expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
        expect(result.stderr).toMatch(message);
      }
      // Nothing was created by those: the registry does not exist.
      const list = await users(['list', ...fresh]);
      expect(list.code).toBe(2);
      expect(list.stderr).toMatch(/no registry named bad\w+ yet: `sharemount users add <name> --registry bad\w+` creates it/);
    });
  }, 180_000);

  test('with no worker serving the registry the command ends with exit 3 and says what to start', async () => {
    const result = await users(['add', 'frank', '--registry', `idle${randomUUID().slice(0, 8)}`], {
      SHAREMOUNT_TASK_QUEUE: uniqueTaskQueue('nobody'),
      SHAREMOUNT_REGISTRY_TIMEOUT_MS: '3000',
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/did not answer within 3 s: no worker polls task queue nobody-.*; start one with `sharemount worker`/);
  }, 60_000);

  test('--help shows examples', async () => {
    for (const sub of ['add', 'remove', 'list', 'show']) {
      const help = await runCli(['users', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Examples?:\n\s+\$ sharemount users /);
    }
  });
});
