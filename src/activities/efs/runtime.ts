/**
 * What an EFS activity needs from Temporal, as plain functions: the activities run and are tested without a
 * worker, and the defaults read the current activity's Context.
 */
import { Context } from '@temporalio/activity';
import type { Polling } from '../../host/aws/polling';

export interface ActivityRuntime {
  heartbeat(details?: unknown): void;
  /** The details of the last heartbeat of the previous attempt, if this is a retry. */
  previousHeartbeat(): unknown;
  sleep(ms: number): Promise<void>;
}

export const temporalRuntime: ActivityRuntime = {
  heartbeat: (details) => Context.current().heartbeat(details),
  previousHeartbeat: () => Context.current().info.heartbeatDetails,
  sleep: (ms) => Context.current().sleep(ms),
};

/** For running the activities outside Temporal (scripts, tests): no heartbeats, real timers. */
export const plainRuntime: ActivityRuntime = {
  heartbeat: () => undefined,
  previousHeartbeat: () => undefined,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The host layer's waits, made by this runtime: what it reports while waiting is heartbeated. */
export function pollingOf(runtime: ActivityRuntime, intervalMs: number): Polling {
  return { intervalMs, sleep: (ms) => runtime.sleep(ms), report: (details) => runtime.heartbeat(details) };
}
