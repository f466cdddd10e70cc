/**
 * One step sent to several instances with one SendCommand, through the SSM agent emulator in front of moto:
 * every instance really runs the script in its sandbox, each invocation is read back on its own, and one
 * instance's failure leaves the others' results whole. Throttling is a state moto never produces, so that test
 * hands in a client that answers ThrottlingException (it says so in its name).
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient, type SSMClientResolvedConfig } from '@aws-sdk/client-ssm';
import { ThrottlingException } from '@aws-sdk/client-ssm';
import { planCommandBatches, instancesToRetry } from '../../src/domain/efs/batches';
import { buildStepScript } from '../../src/domain/efs/steps';
import { runStepOnBatch } from '../../src/host/aws/ssmBatch';
import { motoClients } from '../../src/sandbox/moto';
import { EfsFleet, makeEfsFleet } from '../support/fleet';
import { describeNeeding, needs } from '../support/requires';

const settings = { fileSystemId: 'fs-0123456789abcdef0', mountPoint: '/mnt/batch', group: 'prism-shared', gid: 3000, users: [], iam: false };
const polling = { intervalMs: 50, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), report: () => undefined };

describe('batch planning', () => {
  test('the same script for 120 instances is three commands of at most 50; another script gets its own', () => {
    const ids = Array.from({ length: 120 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    const batches = planCommandBatches([...ids.map((instanceId) => ({ instanceId, script: 'a' })), { instanceId: ids[0], script: 'b' }]);
    expect(batches.map((b) => [b.script, b.instanceIds.length])).toEqual([
      ['a', 50],
      ['a', 50],
      ['a', 20],
      ['b', 1],
    ]);
  });
});

describeNeeding([needs.rootNamespaces()], 'one SendCommand for several instances (emulator over moto)', () => {
  let fleet: EfsFleet | undefined;

  beforeAll(async () => {
    fleet = await makeEfsFleet('batch', 3);
  });
  afterAll(async () => {
    await fleet?.cleanup();
  });

  test("one command runs on every instance for real; one instance's conflict fails it alone, final, and the others' results are whole", async () => {
    const [a, b, c] = fleet!.instanceIds;
    expect((await fleet!.sandboxes[1].run('groupadd -g 3000 research')).code).toBe(0);
    const ssm = motoClients(fleet!.moto.endpoint, fleet!.emulator.endpoint).ssm;
    const sentBefore = fleet!.emulator.sent.length;
    const result = await runStepOnBatch(ssm, { step: 'ensureGroup', script: buildStepScript('ensureGroup', settings), instanceIds: [a, b, c] }, { polling });

    const sent = fleet!.emulator.sent.slice(sentBefore);
    expect(new Set(sent.map((s) => s.commandId))).toEqual(new Set([result.commandId]));
    expect(sent.map((s) => s.instanceId).sort()).toEqual([a, b, c].sort());
    const byId = Object.fromEntries(result.instances.map((i) => [i.instanceId, i]));
    for (const id of [a, c]) expect(byId[id]).toMatchObject({ verdict: 'ok', exitCode: 0, changed: ['created group prism-shared with GID 3000'] });
    expect(byId[b]).toMatchObject({ verdict: 'failed', kind: 'script-conflict', exitCode: 65 });
    expect(byId[b].error).toContain('GID 3000 is already held by group research');
    expect(instancesToRetry(result.instances.map((i) => ({ instanceId: i.instanceId, verdict: i.verdict }) as never))).toEqual([]);
    for (const index of [0, 2]) expect((await fleet!.sandboxes[index].run('getent group prism-shared')).stdout).toContain(':3000:');
    // One SendCommand, a List per poll, and a Get for the failed instance only.
    expect(result.ssmCalls).toBeLessThan(2 + 40);
  });

  test('a command sent by tag (Targets tag:Project) runs for real on the tagged instances only', async () => {
    const [a, b, c] = fleet!.instanceIds;
    const clients = motoClients(fleet!.moto.endpoint, fleet!.emulator.endpoint);
    await clients.ec2.send(new CreateTagsCommand({ Resources: [a, c], Tags: [{ Key: 'Project', Value: 'by-tag' }] }));
    const sent = await clients.ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        Targets: [{ Key: 'tag:Project', Values: ['by-tag'] }],
        Parameters: { commands: [': > /etc/sharemount-by-tag; echo ran-by-tag'] },
      }),
    );
    const commandId = sent.Command!.CommandId!;
    for (let waited = 0; ; waited += 100) {
      const listed = (await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }))).CommandInvocations ?? [];
      if (listed.length === 2 && listed.every((i) => i.Status === 'Success')) {
        expect(listed.map((i) => i.InstanceId).sort()).toEqual([a, c].sort());
        expect(listed.map((i) => i.CommandPlugins?.[0]?.Output?.trim())).toEqual(['ran-by-tag', 'ran-by-tag']);
        break;
      }
      if (waited > 20_000) throw new Error(`by-tag command never finished: ${JSON.stringify(listed.map((i) => [i.InstanceId, i.Status]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [index, ran] of [
      [0, true],
      [1, false],
      [2, true],
    ] as const)
      expect(fs.existsSync(path.join(fleet!.sandboxes[index].etcDir, 'sharemount-by-tag'))).toBe(ran);
    expect(b).toBeDefined();
  });

  test('throttling (a mock client: moto never throttles) is answered with backoff, and the command is sent once', async () => {
    const real = motoClients(fleet!.moto.endpoint, fleet!.emulator.endpoint).ssm;
    const [a] = fleet!.instanceIds;
    let throttled = 0;
    const sleeps: number[] = [];
    const throttling = {
      config: real.config as SSMClientResolvedConfig,
      send: (command: Parameters<SSMClient['send']>[0]) => {
        if (throttled < 3) {
          throttled++;
          return Promise.reject(new ThrottlingException({ Message: 'Rate exceeded', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));
        }
        return real.send(command);
      },
    } as unknown as SSMClient;
    const sentBefore = fleet!.emulator.sent.length;
    const result = await runStepOnBatch(
      throttling,
      { step: 'gatherInstanceFacts', script: buildStepScript('gatherInstanceFacts', settings), instanceIds: [a] },
      { polling: { ...polling, sleep: (ms) => (sleeps.push(ms), polling.sleep(Math.min(ms, 20))) }, random: () => 0.5 },
    );
    expect(throttled).toBe(3);
    expect(sleeps.slice(0, 3)).toEqual([375, 750, 1500]);
    expect(fleet!.emulator.sent.length - sentBefore).toBe(1);
    expect(result.instances[0]).toMatchObject({ instanceId: a, verdict: 'ok' });
    expect(result.ssmCalls).toBeGreaterThanOrEqual(5);
  });
});
