import { Command, Option } from 'commander';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { RunProgress } from '../../domain/progress';
import { CliError, EXIT } from '../exitCodes';
import { follow, queryProgress, summaryTable } from '../follow';
import { paint, printJson, table } from '../output';
import { integerOption } from '../parsers';
import { withSession } from '../session';
import { completedExitCode, runningExitCode } from '../verdict';

function notFound(error: unknown, workflowId: string): never {
  if (error instanceof WorkflowNotFoundError) throw new CliError(`no workflow ${workflowId}: list them with \`sharemount list\``, EXIT.badInput);
  throw error;
}

/**
 * A finished run is judged like the command that started it, from its result, which the server keeps: the
 * progress query needs a worker, and none may be running by now. A run that ended without completing
 * (failed, cancelled, terminated, timed out) did not do what it was asked.
 */
async function statusExitCode(handle: WorkflowHandle, type: string, status: string, progress?: RunProgress): Promise<number> {
  if (status === 'RUNNING') return runningExitCode(progress);
  if (status !== 'COMPLETED') return EXIT.targetsFailed;
  return completedExitCode(type, await handle.result(), progress);
}

export function statusCommand(): Command {
  return new Command('status')
    .description("show a workflow's state and each target's step, from its progress query")
    .argument('<workflow-id>')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount status sharemount-efs-research-mount')
    .action(async (workflowId: string, options: { json?: boolean }) =>
      withSession(async (session) => {
        const handle = session.client.workflow.getHandle(workflowId);
        const description = await handle.describe().catch((error) => notFound(error, workflowId));
        const progress = await queryProgress(handle);
        if (options.json) {
          printJson({
            workflowId,
            runId: description.runId,
            type: description.type,
            status: description.status.name,
            startTime: description.startTime,
            closeTime: description.closeTime,
            progress,
          });
        } else {
          process.stdout.write(`${workflowId} (${description.type}): ${description.status.name}, started ${description.startTime.toISOString()}\n`);
          if (progress) process.stdout.write(`${summaryTable(progress)}\n`);
        }
        process.exitCode = await statusExitCode(handle, description.type, description.status.name, progress);
      }),
    );
}

export function watchCommand(): Command {
  return new Command('watch')
    .description('follow a running workflow with a progress bar per target until it ends; Ctrl-C detaches')
    .argument('<workflow-id>')
    .option('--json', 'print the final result as JSON instead of drawing progress')
    .addHelpText('after', '\nExample:\n  $ sharemount watch sharemount-lxc-pve1-apply')
    .action(async (workflowId: string, options: { json?: boolean }) =>
      withSession(async (session) => {
        const handle = session.client.workflow.getHandle(workflowId);
        const { type } = await handle.describe().catch((error) => notFound(error, workflowId));
        const announce = options.json ? undefined : `watching ${workflowId}; Ctrl-C detaches (the workflow goes on)`;
        const outcome = await follow(handle, { quiet: Boolean(options.json), announce });
        if (outcome.kind === 'detached') {
          process.stderr.write(`\ndetached; the workflow goes on. Re-attach with \`sharemount watch ${workflowId}\`\n`);
          process.exitCode = EXIT.detached;
          return;
        }
        if (options.json) printJson({ workflowId, ...outcome, error: outcome.kind === 'failed' ? outcome.error.message : undefined });
        else if (outcome.progress) process.stdout.write(`${summaryTable(outcome.progress)}\n`);
        if (outcome.kind === 'failed') throw new CliError(`${workflowId} failed: ${outcome.error.message}`, EXIT.targetsFailed);
        process.exitCode = completedExitCode(type, outcome.result, outcome.progress);
      }),
    );
}

const VISIBILITY_VALUE = /^[A-Za-z0-9_.:,-]{1,200}$/;

export function listCommand(): Command {
  return new Command('list')
    .description("list sharemount's workflows, newest first, filtered by volume, backend or status")
    .option('--volume <name>', 'only this volume (search attribute ShareMountVolume)')
    .addOption(new Option('--backend <backend>', 'only this backend').choices(['lxc', 'efs']))
    .addOption(new Option('--status <status>', 'only this status').choices(['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut']))
    .addOption(integerOption('--limit <n>', 'at most this many', { min: 1, max: 10_000, default: 20 }))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount list --volume vllm_models --status Running')
    .action(async (options: { volume?: string; backend?: string; status?: string; limit: number; json?: boolean }) => {
      if (options.volume !== undefined && !VISIBILITY_VALUE.test(options.volume)) {
        throw new CliError('--volume: use letters, digits and _.:,- only', EXIT.badInput);
      }
      const clauses = [`WorkflowId STARTS_WITH "sharemount-"`];
      if (options.volume) clauses.push(`ShareMountVolume = "${options.volume}"`);
      if (options.backend) clauses.push(`ShareMountBackend = "${options.backend}"`);
      if (options.status) clauses.push(`ExecutionStatus = "${options.status}"`);
      await withSession(async (session) => {
        const rows: Array<{ workflowId: string; type: string; status: string; start: string; volume?: unknown }> = [];
        for await (const execution of session.client.workflow.list({ query: clauses.join(' AND ') })) {
          rows.push({
            workflowId: execution.workflowId,
            type: execution.type,
            status: execution.status.name,
            start: execution.startTime.toISOString(),
            volume: (execution.searchAttributes?.ShareMountVolume as string[] | undefined)?.join(','),
          });
          if (rows.length >= options.limit) break;
        }
        if (options.json) printJson(rows);
        else
          process.stdout.write(
            `${table(
              ['workflow', 'type', 'status', 'started', 'volume'],
              rows.map((r) => [r.workflowId, r.type, r.status, r.start, String(r.volume ?? '')]),
            )}\n`,
          );
      });
    });
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel a workflow: running activities are told to stop (the walk stops at its next heartbeat)')
    .argument('<workflow-id>')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount cancel sharemount-efs-research-mount')
    .action(async (workflowId: string, options: { json?: boolean }) =>
      withSession(async (session) => {
        const handle = session.client.workflow.getHandle(workflowId);
        await handle.cancel().catch((error) => notFound(error, workflowId));
        if (options.json) printJson({ workflowId, cancelRequested: true });
        else process.stdout.write(`${paint('yellow', 'cancel requested')} for ${workflowId}\n`);
      }),
    );
}
