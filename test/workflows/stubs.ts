/**
 * Stub activities for workflow tests, in the style of the Temporal TypeScript samples: a real worker on the
 * suite's dev server runs the real workflow bundle, and each activity is a small function that answers what a
 * test needs and records how it was called.
 */
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

type Stub = (...args: any[]) => Promise<unknown>;

export interface Recorder {
  /** Every call's arguments, by activity name (one entry per attempt). */
  calls: Record<string, unknown[][]>;
  /** Activities that saw their cancellation. */
  cancelled: string[];
  count(name: string): number;
}

/** Wraps each stub so the test can see every attempt. */
export function recorded(stubs: Record<string, Stub>): { activities: Record<string, Stub>; recorder: Recorder } {
  const recorder: Recorder = { calls: {}, cancelled: [], count: (name) => recorder.calls[name]?.length ?? 0 };
  const activities = Object.fromEntries(
    Object.entries(stubs).map(([name, stub]) => [
      name,
      async (...args: unknown[]) => {
        (recorder.calls[name] ??= []).push(args);
        try {
          return await stub(...args);
        } catch (error) {
          if (Context.current().cancellationSignal.aborted) recorder.cancelled.push(name);
          throw error;
        }
      },
    ]),
  );
  return { activities, recorder };
}

/** An activity that heartbeats until Temporal cancels it (Context.sleep rejects then). */
export async function untilCancelled(): Promise<never> {
  const context = Context.current();
  for (;;) {
    context.heartbeat();
    await context.sleep(50);
  }
}

/**
 * One worker for the test file on its own task queue, started once: each test hands in its stubs, which the
 * registered activities call by name. Heartbeats go out at once, so a cancellation reaches a stub within a
 * fraction of a second.
 */
export function workflowHarness(activityNames: readonly string[]) {
  const taskQueue = uniqueTaskQueue('workflows');
  let client: Client;
  let close: (() => Promise<void>) | undefined;
  let release: () => void = () => undefined;
  let worker: Promise<void> | undefined;
  let current: Record<string, Stub> = {};
  beforeAll(async () => {
    ({ client, close } = await testClient());
    const activities = Object.fromEntries(
      activityNames.map((name) => [
        name,
        (...args: unknown[]) => {
          const stub = current[name];
          if (!stub) throw ApplicationFailure.nonRetryable(`this test gave no stub for ${name}`, 'NoStub');
          return stub(...args);
        },
      ]),
    );
    const released = new Promise<void>((resolve) => (release = resolve));
    let polling: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (polling = resolve));
    const options = { taskQueue, activities, maxHeartbeatThrottleInterval: '50 milliseconds', defaultHeartbeatThrottleInterval: '50 milliseconds' } as const;
    worker = withWorker(options, async () => {
      polling();
      await released;
    });
    await Promise.race([started, worker]);
  });
  afterAll(async () => {
    release();
    await worker;
    await close?.();
  });
  return {
    client: () => client,
    run<T>(activities: Record<string, Stub>, body: (taskQueue: string) => Promise<T>): Promise<T> {
      current = activities;
      return body(taskQueue);
    },
  };
}

/**
 * Runs end within this: a run stuck on bad input (its workflow task failing and retrying for ever) times
 * out here and fails the test instead of hanging it.
 */
export const EXECUTION_TIMEOUT = '15 seconds';

/** Why a run failed: the failure its result rejects with, under WorkflowFailedError. */
export async function runFailure(handle: WorkflowHandle): Promise<TemporalFailure> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(TemporalFailure);
  return cause as TemporalFailure;
}

export async function eventually<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const uniqueName = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;
