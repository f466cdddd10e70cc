import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';

/** The address of the real dev server that test/support/globalSetup.ts started for this run. */
export function testServerAddress(): string {
  const address = process.env.SHAREMOUNT_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('no test Temporal server: run the tests through jest (globalSetup starts one)');
  return address;
}

export async function testClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: testServerAddress() });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** A task queue no other test polls, so parallel test files never steal each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/**
 * Runs `fn` while a real worker polls `taskQueue` with the prebuilt workflow bundle and the given activities.
 */
export async function withWorker<T>(options: Omit<WorkerOptions, 'connection' | 'workflowsPath' | 'workflowBundle'>, fn: () => Promise<T>): Promise<T> {
  const connection = await NativeConnection.connect({ address: testServerAddress() });
  try {
    const worker = await Worker.create({
      connection,
      workflowBundle: { codePath: process.env.SHAREMOUNT_TEST_WORKFLOW_BUNDLE! },
      ...options,
    });
    return await worker.runUntil(fn());
  } finally {
    await connection.close();
  }
}
