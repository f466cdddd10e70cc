import * as fs from 'node:fs';
import type { DevServer } from '../../src/temporal/devServer';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __sharemountServer?: DevServer }).__sharemountServer;
  await server?.stop();
  const scratch = process.env.SHAREMOUNT_TEST_SCRATCH;
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
}
