/**
 * Progress kept in workflow state: a board of targets that the progress query returns. A child workflow's
 * board also tells its parent how its rows move, so the parent's query shows every target's step: by signal
 * while it runs (at most every few seconds) and when it fails, and in its result when it succeeds.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { errorMessage, newTarget, RunProgress, TargetProgress } from '../domain/progress';

export { errorMessage };
import { progressQuery } from './definitions';

const PUBLISH_INTERVAL_MS = 10_000;
/**
 * Children started before rows travelled in results signalled at every start and finish and every 3 s; their
 * histories hold those signals, so replaying them keeps that behaviour (a patch marker tells the two apart).
 */
const ROWS_IN_RESULT_PATCH = 'progress-rows-in-result';
const LEGACY_PUBLISH_INTERVAL_MS = 3000;

function copyRow(row: TargetProgress): TargetProgress {
  return { ...row, changes: [...row.changes] };
}

export const targetUpdateSignal = defineSignal<[TargetProgress]>('targetUpdate');

function now(): string {
  // Workflow time is deterministic: Date is replayed from history.
  return new Date().toISOString();
}

export class ProgressBoard {
  readonly progress: RunProgress;

  private readonly rowsInResult: boolean;

  constructor(
    backend: RunProgress['backend'],
    subject: string,
    private readonly forwardToParent = false,
  ) {
    this.progress = { backend, subject, targets: [], done: false };
    this.rowsInResult = forwardToParent && patched(ROWS_IN_RESULT_PATCH);
    // Workflow time: a child that ends within the first interval sends no signal at all (legacy: at once).
    this.lastPublished = forwardToParent && !this.rowsInResult ? 0 : Date.now();
    setHandler(progressQuery, () => this.progress);
    // A parent learns its children's rows from their signals.
    setHandler(targetUpdateSignal, (row) => {
      this.upsert(row);
    });
  }

  add(target: string, stepsTotal: number): TargetProgress {
    return this.upsert(newTarget(target, stepsTotal));
  }

  private upsert(row: TargetProgress): TargetProgress {
    const existing = this.progress.targets.find((t) => t.target === row.target);
    if (existing) return Object.assign(existing, row);
    this.progress.targets.push(row);
    return row;
  }

  private lastPublished: number;

  /**
   * Forwards a row to the parent: a failure always (the child's result will not carry it), otherwise at most
   * every few seconds. Each signal costs both workflows a task and history events, and a wide fan-out of
   * short children spent more on them than on the work; the parent marks a child's rows running when it
   * starts it and takes the final rows from its result (`rows()`), since a signal sent as a workflow
   * completes is dropped by the server.
   */
  private async publish(row: TargetProgress, mustArrive: boolean): Promise<void> {
    const parent = workflowInfo().parent;
    if (!this.forwardToParent || !parent) return;
    const now = Date.now();
    const legacyBoundary = !this.rowsInResult && (row.stepsDone === 0 || row.state === 'ok' || row.state === 'failed');
    const interval = this.rowsInResult ? PUBLISH_INTERVAL_MS : LEGACY_PUBLISH_INTERVAL_MS;
    if (!mustArrive && !legacyBoundary && now - this.lastPublished < interval) return;
    this.lastPublished = now;
    try {
      await getExternalWorkflowHandle(parent.workflowId).signal(targetUpdateSignal, copyRow(row));
    } catch {
      // The parent only displays these rows; a lost update must never fail the work itself.
    }
  }

  /** Runs one named step of a target, recording it before and after so the query shows where it is. */
  async step<T>(target: string, name: string, run: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    const row = this.row(target);
    row.state = 'running';
    row.step = name;
    row.startedAt ??= now();
    await this.publish(row, false);
    const result = await run();
    row.stepsDone += 1;
    const change = describe?.(result);
    if (change) row.changes.push(change);
    return result;
  }

  async finish(target: string, error?: unknown): Promise<void> {
    const row = this.row(target);
    row.state = error === undefined ? 'ok' : 'failed';
    if (error !== undefined) row.error = errorMessage(error);
    row.finishedAt = now();
    await this.publish(row, error !== undefined);
  }

  /** A parent's view of a child it has just started: running, before the child says more. */
  start(target: string): void {
    const row = this.row(target);
    if (row.state !== 'pending') return;
    row.state = 'running';
    row.step = 'starting';
    row.startedAt ??= now();
  }

  /** Copies of every row, for a child's result. */
  rows(): TargetProgress[] {
    return this.progress.targets.map(copyRow);
  }

  /**
   * Takes a finished child's rows (from its result) as they are; any of `targets` still open after that (a
   * child from before rows travelled in results) is finished here, so no row of a done child stays running.
   */
  async adopt(rows: readonly TargetProgress[] | undefined, targets: readonly string[]): Promise<void> {
    for (const row of rows ?? []) this.upsert(copyRow(row));
    for (const target of targets) {
      const state = this.row(target).state;
      if (state === 'pending' || state === 'running') await this.finish(target);
    }
  }

  row(target: string): TargetProgress {
    const row = this.progress.targets.find((t) => t.target === target);
    if (!row) throw ApplicationFailure.nonRetryable(`no progress row for ${target}`);
    return row;
  }

  done(): RunProgress {
    this.progress.done = true;
    return this.progress;
  }
}

/**
 * Runs `work` over `items` with at most `limit` at once, in a deterministic order, and keeps going when
 * some fail: every item gets a settled result.
 */
export async function withConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  // A cancelled workflow is not "some items failed": the cancellation must end the workflow as cancelled.
  const cancelled = results.find((r) => r.status === 'rejected' && isCancellation(r.reason));
  if (cancelled && CancellationScope.current().consideredCancelled) throw (cancelled as PromiseRejectedResult).reason;
  return results;
}
