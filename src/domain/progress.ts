/**
 * What a run looks like while it runs: one row per target (a container, an instance, a volume's ownership),
 * with the step it is on. Workflows keep it in their state and answer the progress query with it; the CLI
 * draws its progress bars and summary table from it, so what the operator sees is the workflow's own state.
 */
export type TargetState = 'pending' | 'running' | 'ok' | 'failed';

export interface TargetProgress {
  target: string;
  state: TargetState;
  /** The step running now, or the last one that ran. */
  step: string;
  stepsDone: number;
  stepsTotal: number;
  /** What this target's steps changed, in words; empty when everything was already right. */
  changes: string[];
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface RunProgress {
  backend: 'lxc' | 'efs' | 'doctor';
  /** What the run is about, e.g. the volume name. */
  subject: string;
  targets: TargetProgress[];
  done: boolean;
}

export function newTarget(target: string, stepsTotal: number): TargetProgress {
  return { target, state: 'pending', step: 'waiting', stepsDone: 0, stepsTotal, changes: [] };
}

export function summarize(progress: RunProgress): { ok: number; failed: number; pending: number; running: number } {
  const count = (state: TargetState) => progress.targets.filter((t) => t.state === state).length;
  return { ok: count('ok'), failed: count('failed'), pending: count('pending'), running: count('running') };
}

/**
 * The message an operator needs: the innermost cause of a failure chain (child workflow failed ← activity
 * failed ← the AWS or script error), not "Activity task failed".
 */
export function errorMessage(error: unknown): string {
  let current = error as { cause?: unknown; message?: string } | undefined;
  while (current && typeof current === 'object' && current.cause) current = current.cause as typeof current;
  return current?.message ?? String(error);
}
