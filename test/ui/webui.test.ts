/**
 * The Temporal Web UI tells the story (issue 5, item 3), seen in a real browser: a real LXC apply (the built
 * CLI, a real worker in this process, the stand-in pct) on a volume whose name no other test uses, then
 * Debian's chromium, driven by playwright-core, opens the suite's dev server UI, filters the workflow list by
 * the ShareMountVolume search attribute, finds the finished run by its static summary and ID, opens it and
 * its child, and reads the activities' summaries ("chown … → 100000:100000 for CT …", "mount … at … in CT
 * …") on the page. A screenshot stays in test-artifacts/.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createActivities } from '../../src/activities';
import { nodeActivityDeps, STAND_IN_PCT } from '../../src/sandbox/demo';
import type { LxcApplyResult } from '../../src/workflows';
import { CHROMIUM_PATH, describeNeeding, needs } from '../support/requires';
import { demoNodeWithVolume, sharemount } from '../support/sharemountBin';
import { testClient, withWorker } from '../support/temporal';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const OFFLINE_AWS = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } };

describeNeeding([needs.chromium()], 'Temporal Web UI in Debian chromium: a finished LXC apply, found by volume, tells its steps', () => {
  const suffix = randomUUID().slice(0, 8);
  const nodeName = `ui-${suffix}`;
  const node = demoNodeWithVolume(`ui_models_${suffix}`);
  const volume = node.volumeName;
  const parentId = `sharemount-lxc-${nodeName}-apply`;
  const childId = `sharemount-lxc-${nodeName}-volume-${volume}`;
  const ui = process.env.SHAREMOUNT_TEST_TEMPORAL_UI ?? '';
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    fs.rmSync(node.dir, { recursive: true, force: true });
  });

  test('run a real apply, then see it in the UI list filtered by ShareMountVolume, and its step summaries on its pages', async () => {
    expect(ui).toMatch(/^http:\/\//);

    // 1. A real apply through the CLI, with the node's worker in this process.
    const activities = createActivities({
      ...nodeActivityDeps(node),
      awsIdentity: async () => ({ region: 'us-east-1' }),
      efs: new EFSClient(OFFLINE_AWS),
      ec2: new EC2Client(OFFLINE_AWS),
      ssm: new SSMClient(OFFLINE_AWS),
    });
    const applied = await withWorker({ taskQueue: `lxc:${nodeName}`, activities }, () =>
      sharemount(['lxc', 'apply', '--config', node.configFile, '--node', nodeName, '--pve-dir', node.pveDir, '--pct', STAND_IN_PCT, '--json'], {
        // The CLI plans on this host first; the stand-in pct it may ask for a container's state needs its pve dir.
        env: { SHAREMOUNT_PVE_DIR: node.pveDir },
      }),
    );
    // The whole result object on failure shows what the CLI said.
    expect(applied).toMatchObject({ code: 0 });
    const printed = JSON.parse(applied.stdout) as { workflowId: string; result: LxcApplyResult };
    expect(printed).toMatchObject({ workflowId: parentId, result: { ok: true } });
    const { client, close } = await testClient();
    const query = `ShareMountVolume="${volume}"`;
    let result: LxcApplyResult;
    let parentRunId: string;
    try {
      const parent = client.workflow.getHandle(parentId);
      result = (await parent.result()) as LxcApplyResult;
      parentRunId = (await parent.describe()).runId;
      // The UI lists from visibility, which may trail the close by a moment: wait until the server lists both.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const listed: string[] = [];
        for await (const execution of client.workflow.list({ query })) if (execution.status.name === 'COMPLETED') listed.push(execution.workflowId);
        if (listed.length === 2 || Date.now() > deadline) {
          expect(listed.sort()).toEqual([parentId, childId].sort());
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await close();
    }
    expect(result.ok).toBe(true);
    expect(result.volumes[0].result!.changes).toBeGreaterThan(0);

    // 2. The browser: the list filtered by volume, the parent's page, the child's page.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    page.setDefaultTimeout(30_000);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const visible = (text: string) => page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });

    const listUrl = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    await page.goto(listUrl);
    const parentLink = page.getByRole('link', { name: parentId, exact: true });
    const childLink = page.getByRole('link', { name: childId, exact: true });
    await parentLink.waitFor({ state: 'visible' });
    await childLink.waitFor({ state: 'visible' });
    // Only this volume's two workflows: the filter really applied (the suite's other workflows are not listed).
    await expect(page.getByRole('link', { name: /^sharemount-/ }).count()).resolves.toBe(2);
    await visible('2 Completed');
    await page.screenshot({ path: path.join(ARTIFACTS, `webui-${volume}-list.png`) });

    // The parent: its static summary (what, where, how many targets) and the child's summary.
    await parentLink.click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${parentId}/${parentRunId}`));
    await visible(`LXC apply on ${nodeName}: ${volume} (2 container mounts)`);
    await visible(`apply volume ${volume} (${node.volumePath}) to CT 950, 951 on ${nodeName}`);

    // The child, opened from the same filtered list: every activity's summary in words, on the timeline and
    // in the event details.
    await page.goto(listUrl);
    await childLink.click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${childId}/`));
    const summaries = [
      `chown ${node.volumePath} → 100000:100000 for CT 950, 951`,
      `mount ${node.volumePath} at /vllm_models in CT 950 (mp1)`,
      `mount ${node.volumePath} at /vllm_models in CT 951 (mp0)`,
      'read CT 950 config: idmap and mount points',
    ];
    for (const summary of summaries) await visible(summary);
    const text = await page.locator('body').innerText();
    expect(text).toContain(`applyOwnership • chown ${node.volumePath} → 100000:100000 for CT 950, 951`);
    expect(text).toContain(`bindMountPoint • mount ${node.volumePath} at /vllm_models in CT 950 (mp1)`);
    expect(text).toContain(`Parent Workflow\n${parentId}`);
    await page.getByText('Event History').first().scrollIntoViewIfNeeded();
    const shot = path.join(ARTIFACTS, `webui-${volume}.png`);
    await page.screenshot({ path: shot });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
  });
});
