/**
 * Workflows that were running when sharemount was upgraded must replay on the new code. These histories were
 * recorded from the workflow code of commit 1bda2f8 (an EFS mount over two instances), when children still
 * signalled their parent at every start and finish and every 3 s; the current code must replay them without
 * a nondeterminism error (src/workflows/progress.ts keeps the old behaviour for histories without its patch
 * marker).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';

const HISTORIES = path.join(__dirname, '..', 'fixtures', 'histories');

describe('replaying histories recorded by earlier code', () => {
  it.each([
    ['efs-instance-child-1bda2f8.json', 'sharemount-efs-legacy-on-i-0aaaaaaaaaaaaaaa1'],
    ['efs-mount-parent-1bda2f8.json', 'sharemount-efs-legacy-mount'],
  ])(
    '%s replays on the current workflow code',
    async (file, workflowId) => {
      const history = JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8'));
      expect(history.events.some((e: { eventType: string }) => /SIGNAL/.test(e.eventType))).toBe(true);
      await expect(
        Worker.runReplayHistory({ workflowBundle: { codePath: process.env.SHAREMOUNT_TEST_WORKFLOW_BUNDLE! } }, history, workflowId),
      ).resolves.toBeUndefined();
    },
    60_000,
  );
});
