import { extractWorkflowType, type Workflow } from '@temporalio/common';
import { summarize, type RunProgress } from '../domain/progress';
import { doctorWorkflow, efsCreateWorkflow, efsMountWorkflow, efsUnmountWorkflow, lxcApplyWorkflow } from '../workflows';
import { EXIT } from './exitCodes';

type ResultOf<W extends Workflow> = Awaited<ReturnType<W>>;

/**
 * Whether a completed run did everything it was asked, by workflow type. These workflows complete rather than
 * fail when some targets fail, so that the others' results are kept: only the result tells. A child watched
 * on its own (a volume, an instance) fails when its target fails, so completing is success for it.
 *
 * Keyed by the functions' names (their workflow types), so a renamed workflow cannot fall out of this list.
 */
const SUCCEEDED: Record<string, (result: never) => boolean> = {
  // Refused entries (hard links, devices, swapped directories) leave the volume not fully converged: the
  // ownership row is marked failed for them, while the volume itself reports ok.
  [lxcApplyWorkflow.name]: (r: ResultOf<typeof lxcApplyWorkflow>) => r.ok && r.volumes.every((v) => !v.result?.ownership.refusedCount),
  [efsMountWorkflow.name]: (r: ResultOf<typeof efsMountWorkflow>) => r.ok,
  [efsUnmountWorkflow.name]: (r: ResultOf<typeof efsUnmountWorkflow>) => r.ok,
  // An instance that does not exist gets no mount target for its zone.
  [efsCreateWorkflow.name]: (r: ResultOf<typeof efsCreateWorkflow>) => r.unknownInstances.length === 0,
  [doctorWorkflow.name]: (r: ResultOf<typeof doctorWorkflow>) => r.ok,
};

/** A completed run succeeded when its result says so and no row of its progress failed. */
export function runSucceeded(workflow: string | Workflow, result: unknown, progress?: RunProgress): boolean {
  const succeeded = SUCCEEDED[extractWorkflowType(workflow)]?.(result as never) ?? true;
  return succeeded && (progress ? summarize(progress).failed : 0) === 0;
}

/** The exit code of a run that completed, so it always agrees with the "n ok, m failed" line printed above it. */
export function completedExitCode(workflow: string | Workflow, result: unknown, progress?: RunProgress): number {
  return runSucceeded(workflow, result, progress) ? EXIT.ok : EXIT.targetsFailed;
}

/** A run still going has failed as soon as one of its rows has. */
export function runningExitCode(progress?: RunProgress): number {
  return progress && summarize(progress).failed > 0 ? EXIT.targetsFailed : EXIT.ok;
}
