import { MultiBar, Presets, SingleBar } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import { RunProgress, summarize, TargetProgress } from '../domain/progress';
import { progressQuery } from '../workflows/definitions';
import { paint, table, useColor } from './output';

export type FollowOutcome =
  | { kind: 'completed'; result: unknown; progress?: RunProgress }
  | { kind: 'failed'; error: Error; progress?: RunProgress }
  | { kind: 'detached'; progress?: RunProgress };

const POLL_MS = 400;

/**
 * The workflow's own progress, or undefined when it cannot answer yet (no worker has run it, or none polls
 * its queue now): a query waits for a worker, so it gets a short deadline instead of the server's 30 s.
 */
export async function queryProgress(handle: WorkflowHandle, timeoutMs = 3000): Promise<RunProgress | undefined> {
  try {
    return await handle.client.connection.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery));
  } catch {
    return undefined;
  }
}

/** Draws one bar per target on a terminal; elsewhere prints a line whenever a target changes step. */
class ProgressView {
  private readonly multi?: MultiBar;
  private readonly bars = new Map<string, SingleBar>();
  private readonly lastLine = new Map<string, string>();

  constructor(private readonly quiet: boolean) {
    if (!quiet && process.stderr.isTTY) {
      this.multi = new MultiBar(
        {
          stream: process.stderr,
          format: ' {bar} {target} | {state} | {step} ({value}/{total})',
          hideCursor: true,
          clearOnComplete: false,
          barsize: 20,
        },
        Presets.shades_classic,
      );
    }
  }

  update(progress: RunProgress): void {
    if (this.quiet) return;
    for (const target of progress.targets) {
      const payload = { target: target.target.padEnd(14), state: this.stateText(target), step: target.step };
      if (this.multi) {
        let bar = this.bars.get(target.target);
        if (!bar) {
          bar = this.multi.create(target.stepsTotal, target.stepsDone, payload);
          this.bars.set(target.target, bar);
        }
        bar.setTotal(target.stepsTotal);
        bar.update(target.stepsDone, payload);
      } else {
        const line = `${target.target}: ${target.state} ${target.step} (${target.stepsDone}/${target.stepsTotal})`;
        if (this.lastLine.get(target.target) !== line) {
          this.lastLine.set(target.target, line);
          process.stderr.write(`${line}\n`);
        }
      }
    }
  }

  private stateText(target: TargetProgress): string {
    const styles = { ok: 'green', failed: 'red', running: 'cyan', pending: 'gray' } as const;
    return useColor(process.stderr) ? paint(styles[target.state], target.state.padEnd(7), process.stderr) : target.state.padEnd(7);
  }

  stop(): void {
    this.multi?.stop();
  }
}

/**
 * Follows a workflow to its end, fed by its progress query (the workflow's own state, never a guess).
 * Ctrl-C detaches: the workflow goes on.
 */
export async function follow(handle: WorkflowHandle, options: { quiet: boolean; announce?: string }): Promise<FollowOutcome> {
  const view = new ProgressView(options.quiet);
  let detached = false;
  const onInterrupt = () => {
    detached = true;
  };
  process.once('SIGINT', onInterrupt);
  // Said only once Ctrl-C is handled, so whoever reads it can rely on it.
  if (options.announce) process.stderr.write(`${options.announce}\n`);
  const result = handle.result().then(
    (value) => ({ kind: 'completed' as const, result: value }),
    (error: Error) => ({ kind: 'failed' as const, error }),
  );
  let settled: Awaited<typeof result> | undefined;
  void result.then((outcome) => (settled = outcome));
  let progress: RunProgress | undefined;
  try {
    while (!settled && !detached) {
      progress = (await queryProgress(handle)) ?? progress;
      if (progress) view.update(progress);
      await Promise.race([result, new Promise((r) => setTimeout(r, POLL_MS))]);
    }
    if (detached) return { kind: 'detached', progress };
    progress = (await queryProgress(handle)) ?? progress;
    if (progress) view.update(progress);
    return { ...settled!, progress };
  } finally {
    view.stop();
    process.removeListener('SIGINT', onInterrupt);
  }
}

function elapsed(target: TargetProgress): string {
  if (!target.startedAt || !target.finishedAt) return '';
  return `${((Date.parse(target.finishedAt) - Date.parse(target.startedAt)) / 1000).toFixed(1)}s`;
}

/** The closing table: target, result, what changed, time. */
export function summaryTable(progress: RunProgress): string {
  // One change per line keeps the table readable when a first run changes many things on a target.
  const rows = progress.targets.flatMap((t) => {
    const changes = t.changes.flatMap((c) => c.split(/, (?=[a-z])/));
    const first = [
      t.target,
      t.state === 'failed' ? paint('red', 'failed') : t.state === 'ok' ? paint('green', 'ok') : t.state,
      t.state === 'failed' ? (t.error ?? '') : (changes[0] ?? (t.state === 'ok' ? 'nothing to change' : '')),
      elapsed(t),
    ];
    const rest = (t.state === 'failed' ? changes : changes.slice(1)).map((c) => ['', '', c, '']);
    return [first, ...rest];
  });
  const counts = summarize(progress);
  return `${table(['target', 'result', 'changed', 'time'], rows)}\n${counts.ok} ok, ${counts.failed} failed`;
}
