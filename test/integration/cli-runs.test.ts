import { spawn } from 'node:child_process';
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, SHAREMOUNT_BIN } from '../support/cliProcess';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { testClient, testServerAddress, withWorker } from '../support/temporal';

/**
 * status, watch, list and cancel against a run that no worker picks up (its node has no worker), so it is
 * reliably still running while the commands look at it.
 */
describe('status, watch (Ctrl-C detaches), list, cancel', () => {
  const node = `idle${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-runs-'));
  const config = path.join(dir, 'phoenix.json');
  const volume = `runs_${process.pid}`;
  const workflowId = `sharemount-lxc-${node}-apply`;
  fs.mkdirSync(path.join(dir, 'vol'));
  fs.writeFileSync(config, JSON.stringify({ shared_volumes: { [volume]: { host_path: path.join(dir, 'vol'), mounts: { '950': '/v' } } } }));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('apply --detach starts the run and returns its ID at once', async () => {
    // No pve dir here, so the CLI skips its local plan: the node is elsewhere.
    const result = await runCli(['lxc', 'apply', '--config', config, '--node', node, '--pve-dir', path.join(dir, 'no-pve'), '--detach', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).workflowId).toBe(workflowId);
  });

  it('status shows it running with its targets pending', async () => {
    const result = await runCli(['status', workflowId, '--json']);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status.status).toBe('RUNNING');
    expect(status.type).toBe('lxcApplyWorkflow');
  });

  it('list finds it by volume', async () => {
    const { client, close } = await testClient();
    try {
      // Visibility is eventually consistent: wait until the server lists it.
      for (let i = 0; i < 50; i++) {
        const found = [];
        for await (const w of client.workflow.list({ query: `ShareMountVolume = "${volume}"` })) found.push(w);
        if (found.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await close();
    }
    const result = await runCli(['list', '--volume', volume, '--json']);
    expect(JSON.parse(result.stdout).map((r: { workflowId: string }) => r.workflowId)).toEqual([workflowId]);
  });

  it('watch detaches on Ctrl-C with exit 130, says how to re-attach, and the run goes on', async () => {
    const child = spawn(process.execPath, [SHAREMOUNT_BIN, 'watch', workflowId], {
      env: { ...process.env, TEMPORAL_ADDRESS: testServerAddress(), NO_COLOR: '1' },
    });
    let stderr = '';
    // Ctrl-C once watch is following (it says so), not while node is still starting.
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('Ctrl-C detaches')) resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toMatchObject({ code: 130 });
    expect(stderr).toMatch(new RegExp(`sharemount watch ${workflowId}`));
    expect(JSON.parse((await runCli(['status', workflowId, '--json'])).stdout).status).toBe('RUNNING');
  });

  it('cancel cancels it: its worker sees the request and the run ends CANCELLED', async () => {
    // A workflow acts on a cancel request only when a worker runs it: start one whose first step never ends.
    const stuck = { readContainer: () => Context.current().sleep(3_600_000) };
    const status = await withWorker({ taskQueue: lxcTaskQueue(node), activities: stuck }, async () => {
      expect((await runCli(['cancel', workflowId])).code).toBe(0);
      let current = '';
      for (let i = 0; i < 100 && current !== 'CANCELLED'; i++) {
        current = JSON.parse((await runCli(['status', workflowId, '--json'])).stdout).status;
        if (current !== 'CANCELLED') await new Promise((r) => setTimeout(r, 200));
      }
      return current;
    });
    expect(status).toBe('CANCELLED');
    // Its volume was never applied: like watch, status says the run did not do what it was asked.
    const after = await runCli(['status', workflowId]);
    expect(after.stdout).toMatch(/CANCELLED/);
    expect(after.code).toBe(1);
  });

  it('an unknown workflow is bad input (exit 2)', async () => {
    const result = await runCli(['status', 'sharemount-no-such-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no workflow sharemount-no-such-run/);
  });
});
