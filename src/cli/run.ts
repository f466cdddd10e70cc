import type { Workflow, WorkflowStartOptions } from '@temporalio/client';
import { errorMessage, RunProgress } from '../domain/progress';
import { CliError, EXIT } from './exitCodes';
import { follow, summaryTable } from './follow';
import { printJson } from './output';
import { Session } from './session';
import { completedExitCode } from './verdict';

export interface RunOptions {
  json: boolean;
  /** Start and return at once with the workflow ID. */
  detach?: boolean;
}

/**
 * Starts a workflow (or attaches to the one already running under the same deterministic ID) and follows it.
 * `render` prints the text result; with --json the result object is printed instead. Returns the exit code.
 */
export async function runWorkflow<W extends Workflow>(
  session: Session,
  workflow: W,
  start: WorkflowStartOptions<W>,
  options: RunOptions & { render: (result: Awaited<ReturnType<W>>, progress?: RunProgress) => string },
): Promise<number> {
  const handle = await session.client.workflow.start(workflow, { workflowIdConflictPolicy: 'USE_EXISTING', ...start });
  const link = session.uiUrl ? `${session.uiUrl}/namespaces/${session.settings.namespace}/workflows/${handle.workflowId}` : undefined;
  if (!options.json) process.stderr.write(`workflow ${handle.workflowId}${link ? `\n  ${link}` : ''}\n`);
  await warnWithoutWorker(session, String(start.taskQueue), options.json);
  if (options.detach) {
    if (options.json) printJson({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, url: link });
    return EXIT.ok;
  }
  const outcome = await follow(handle, { quiet: options.json });
  if (outcome.kind === 'detached') {
    const how = session.embedded
      ? 'the embedded server stops with this command; run the same command again to finish it'
      : `re-attach with \`sharemount watch ${handle.workflowId}\`, stop it with \`sharemount cancel ${handle.workflowId}\``;
    process.stderr.write(`\ndetached from ${handle.workflowId}: it goes on; ${how}\n`);
    return EXIT.detached;
  }
  if (outcome.kind === 'failed') {
    const cause = errorMessage(outcome.error);
    if (options.json) printJson({ workflowId: handle.workflowId, error: outcome.error.message, cause, progress: outcome.progress });
    throw new CliError(`workflow ${handle.workflowId} failed: ${cause}`, EXIT.targetsFailed);
  }
  const result = outcome.result as Awaited<ReturnType<W>>;
  if (options.json) printJson({ workflowId: handle.workflowId, result, progress: outcome.progress });
  else process.stdout.write(`${options.render(result, outcome.progress)}\n`);
  return completedExitCode(workflow, result, outcome.progress);
}

export function renderSummary(_result: unknown, progress?: RunProgress): string {
  return progress ? summaryTable(progress) : '';
}

/** A workflow on a queue nobody polls waits forever; say so instead of showing a frozen bar. */
async function warnWithoutWorker(session: Session, taskQueue: string, quiet: boolean): Promise<void> {
  if (quiet || session.embedded) return;
  try {
    const { pollers } = await session.client.workflowService.describeTaskQueue({
      namespace: session.settings.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // workflow tasks
    });
    if (!pollers?.length) {
      process.stderr.write(
        `warning: no worker polls task queue ${taskQueue} yet; start one with \`sharemount worker${taskQueue.startsWith('lxc:') ? ' --node ' + taskQueue.slice(4) : ''}\`\n`,
      );
    }
  } catch {
    // Only a hint: a server that does not answer this still runs the workflow.
  }
}
