import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../../src/temporal/devServer';

/**
 * Starts the one real Temporal dev server the suite uses and bundles the workflow code once, so each test's
 * worker loads the bundle instead of running webpack again. Both are handed to the tests through env vars.
 */
export default async function globalSetup(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-jest-'));
  const server = await startDevServer({ uiPort: 0, logFile: path.join(scratch, 'temporal.log') });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, code);
  process.env.SHAREMOUNT_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.SHAREMOUNT_TEST_TEMPORAL_UI = server.uiUrl ?? '';
  process.env.SHAREMOUNT_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.SHAREMOUNT_TEST_SCRATCH = scratch;
  (globalThis as { __sharemountServer?: unknown }).__sharemountServer = server;
}
