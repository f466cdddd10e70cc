/**
 * The injection corpus against the identity registry: names that will one day reach `useradd` on instances.
 * Every payload is refused by the validators, and by the registry workflow's update validator when a client
 * skips the CLI, so nothing hostile is ever recorded.
 */
import { Client, Connection } from '@temporalio/client';
import * as os from 'node:os';
import * as path from 'node:path';
import { addToRegistry, listRegistry } from '../../src/cli/registry';
import { InputError } from '../../src/domain/errors';
import { sharedAreaAccessPoint, validatePersonName, validateRegistryName } from '../../src/domain/identity';
import { injectionPayloads } from '../support/injectionPayloads';
import { testServerAddress, uniqueTaskQueue, withWorker } from '../support/temporal';

const payloads = injectionPayloads(path.join(os.tmpdir(), `sharemount-pwned-${process.pid}`));
const taskQueue = uniqueTaskQueue('identity-injection');
process.env.SHAREMOUNT_TASK_QUEUE = taskQueue;

describe('injection corpus against the identity registry', () => {
  test('the validators reject every payload, naming the field', () => {
    for (const payload of payloads) {
      expect(() => validatePersonName(payload)).toThrow(InputError);
      expect(() => validateRegistryName(payload)).toThrow(/--registry/);
      expect(() => sharedAreaAccessPoint(payload, 'fs-0123456789abcdef0', { name: 'prism-shared', gid: 3000 })).toThrow(/<name>/);
    }
  });

  test('a client that skips the CLI is refused by the update validator; nothing is recorded', async () => {
    const connection = await Connection.connect({ address: testServerAddress() });
    const client = new Client({ connection });
    const registry = `inj${process.pid}`;
    try {
      await withWorker({ taskQueue }, async () => {
        await addToRegistry(client, registry, { name: 'alice' });
        for (const payload of payloads) {
          await expect(addToRegistry(client, registry, { name: payload })).rejects.toMatchObject({ field: '<name>' });
        }
        expect((await listRegistry(client, registry)).people.map((p) => p.name)).toEqual(['alice']);
      });
    } finally {
      await connection.close();
    }
  }, 120_000);
});
