/**
 * How a host function waits for AWS: the interval, a sleep, and where it reports what it sees while waiting.
 * An activity passes its heartbeat and its cancellable sleep; the CLI and tests pass plain timers.
 */
export interface Polling {
  intervalMs: number;
  sleep(ms: number): Promise<void>;
  report(details: unknown): void;
}
