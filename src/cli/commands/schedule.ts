import * as path from 'node:path';
import { Argument, Command } from 'commander';
import type { Duration } from '@temporalio/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import { readLxcConfigFile } from '../../host/lxcConfigFile';
import { driftReport } from '../../domain/drift';
import { InputError } from '../../domain/errors';
import { lxcTaskQueue } from '../../domain/taskQueues';
import { generalTaskQueue } from '../../temporal/connection';
import { efsRunWorkflowId, lxcApplyWorkflowId } from '../../domain/workflowIds';
import { efsMountWorkflow, lxcApplyWorkflow } from '../../workflows';
import { runSearchAttributes } from '../../workflows/definitions';
import { defaultNodeName } from '../../temporal/connection';
import { CliError, EXIT } from '../exitCodes';
import { fleetLines, mountRequest } from './efs';
import { fleetInWords } from '../../domain/efs/fleet';
import type { EfsRunResult } from '../../workflows';
import { printJson, table } from '../output';
import { gidOption } from '../parsers';
import { Session, withSession } from '../session';

const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const INTERVAL = /^(\d+)(s|m|h|d)$/;
const SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

export const scheduleId = (name: string) => `sharemount-schedule-${name}`;

function validateName(name: string): string {
  if (!SCHEDULE_NAME.test(name)) throw new InputError('<name>', `${JSON.stringify(name)} is not a schedule name: letters, digits, '.', '_' and '-'`);
  return name;
}

/** `30m`, `1h`, `1d`: at least a minute, so a schedule cannot hammer hosts. */
export function parseInterval(field: string, value: string): Duration {
  const match = INTERVAL.exec(value);
  if (!match || Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS] < 60) {
    throw new InputError(field, `${JSON.stringify(value)} is not an interval of at least a minute, such as 30m, 1h or 1d`);
  }
  return value as Duration;
}

function handleOf(client: Client, name: string) {
  return client.schedule.getHandle(scheduleId(validateName(name)));
}

function missing(error: unknown, name: string): never {
  if (error instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${name}: list them with \`sharemount schedule list\``, EXIT.badInput);
  throw error;
}

interface CommonScheduleOptions {
  every: string;
  catchupWindow: string;
  pauseOnFailure?: boolean;
  paused?: boolean;
  json?: boolean;
}

async function createSchedule(name: string, action: ScheduleOptionsAction, options: CommonScheduleOptions, memo: string): Promise<void> {
  const every = parseInterval('--every', options.every);
  const catchupWindow = parseInterval('--catchup-window', options.catchupWindow);
  await withSession(async (session) => {
    const handle = await session.client.schedule.create({
      scheduleId: scheduleId(name),
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow, pauseOnFailure: Boolean(options.pauseOnFailure) },
      state: { paused: Boolean(options.paused), note: memo },
    });
    if (options.json) printJson({ scheduleId: handle.scheduleId, every, catchupWindow, pauseOnFailure: Boolean(options.pauseOnFailure) });
    else process.stdout.write(`schedule ${name} created (${handle.scheduleId}): ${memo}, every ${every}, overlapping runs skipped\n`);
  });
}

interface CreateOptions extends CommonScheduleOptions {
  config?: string;
  volume?: string;
  node: string;
  fixDrift?: boolean;
  mountPoint?: string;
  group?: string;
  gid?: number;
  tag?: string[];
  batchSsm?: boolean;
}

async function createLxcSchedule(name: string, rest: string[], options: CreateOptions): Promise<void> {
  if (rest.length) throw new InputError('<args>', `lxc takes no further arguments (got ${rest.join(' ')}): name the config with --config`);
  if (!options.config) throw new InputError('--config', 'required for lxc: the Phoenix config on the node');
  const configFile = path.resolve(options.config);
  // Validate now so a broken file is found at creation, not at the first run an hour later.
  const volumes = readLxcConfigFile(configFile, options.volume).volumes.map((v) => v.name);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: lxcApplyWorkflow,
    taskQueue: lxcTaskQueue(options.node),
    workflowId: lxcApplyWorkflowId(options.node, options.volume ?? 'scheduled'),
    args: [{ node: options.node, configFile, onlyVolume: options.volume, fixDrift: Boolean(options.fixDrift), fullScan: true }],
    staticSummary: `scheduled LXC re-apply of ${configFile}${options.volume ? ` (volume ${options.volume})` : ''} on ${options.node}`,
    typedSearchAttributes: runSearchAttributes('lxc', volumes),
  };
  await createSchedule(name, action, options, `LXC ${volumes.join(', ')} on ${options.node}`);
}

async function createEfsSchedule(name: string, rest: string[], options: CreateOptions): Promise<void> {
  const [volume, ...instanceIds] = rest;
  if (!volume || (instanceIds.length === 0 && !options.tag?.length))
    throw new InputError('<args>', 'efs needs <volume> and <instance-id...>, or <volume> --tag Key=Value');
  // Every run gets what a one-off `efs mount` would accept, checked now by the same code, so a bad
  // --gid is exit 2 here and not a failed run an hour later. Tags are kept as selectors: each run resolves them.
  const { volumeName, instanceIds: validIds, mountPoint, group, gid, tags } = mountRequest(volume, instanceIds, options);
  const ids = [...validIds];
  const fleet = fleetInWords({ instanceIds: ids, tags });
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: efsMountWorkflow,
    taskQueue: generalTaskQueue(),
    workflowId: efsRunWorkflowId('mount', volumeName),
    args: [{ volumeName, instanceIds: ids, mountPoint, group, gid, ...(tags.length ? { tags } : {}), ...(options.batchSsm ? { batchSsm: true } : {}) }],
    staticSummary: `scheduled EFS re-apply of ${volumeName} on ${fleet}`,
    typedSearchAttributes: runSearchAttributes('efs', [volumeName], ids),
  };
  await createSchedule(name, action, options, `EFS ${volumeName} on ${fleet}`);
}

function createCommand(): Command {
  return new Command('create')
    .description('create a Temporal Schedule that re-applies volumes and reports the drift each run found and fixed')
    .argument('<name>', 'schedule name')
    .addArgument(new Argument('<backend>', 'lxc or efs').choices(['lxc', 'efs']))
    .argument('[args...]', 'efs: <volume> [instance-id...] (with --tag, the IDs are optional)')
    .requiredOption('--every <interval>', 'how often to re-apply, e.g. 30m, 1h, 1d')
    .option('--catchup-window <interval>', 'runs missed while Temporal was down are made up within this window', '1h')
    .option('--pause-on-failure', 'pause the schedule when a run fails, until someone resumes it')
    .option('--paused', 'create it paused')
    .option('--config <file>', 'lxc: the Phoenix config on the node (read again by every run)')
    .option('--volume <name>', 'lxc: only this volume')
    .option('--node <name>', 'lxc: Proxmox node', defaultNodeName())
    .option('--fix-drift', 'lxc: also rebind drifted mpN slots')
    .option('--mount-point <path>', 'efs: mount point (default /mnt/<volume>)')
    .option('--group <name>', 'efs: shared group (default prism-shared)')
    .addOption(gidOption('--gid <gid>', 'efs: GID of the shared group (default 3000)'))
    .option(
      '--tag <key=value>',
      'efs: every running Linux instance with this tag, found again by each run (repeat: all must match)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--batch-ssm', 'efs: one SendCommand per step for up to 50 instances (for fleets)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nLXC runs read the config again each time and walk every entry, so a single file chowned back is found.\n\nExamples:\n  $ sharemount schedule create models-hourly lxc --config /etc/phoenix/phoenix_hypervisor_config.json --every 1h\n  $ sharemount schedule create research-daily efs research i-0123456789abcdef0 --every 1d --pause-on-failure\n  $ sharemount schedule create research-fleet efs research --tag Project=research --every 15m',
    )
    .action(async (name: string, backend: 'lxc' | 'efs', rest: string[], options: CreateOptions) => {
      validateName(name);
      await (backend === 'lxc' ? createLxcSchedule : createEfsSchedule)(name, rest, options);
    });
}

/** An EFS run's joins, departures and converged instances in words; nothing for other runs. */
function efsFleetOf(result: unknown): string[] | undefined {
  const run = result as Partial<EfsRunResult>;
  if (!Array.isArray(run.instances) || typeof run.fileSystemId !== 'string') return undefined;
  return fleetLines(run as EfsRunResult);
}

/** The last runs of a schedule with what each found and fixed. */
async function recentRuns(session: Session, actions: Array<{ takenAt: Date; action: { workflow: { workflowId: string; firstExecutionRunId: string } } }>) {
  return Promise.all(
    actions.map(async ({ takenAt, action }) => {
      const handle = session.client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId);
      const { status } = await handle.describe();
      const result = status.name === 'COMPLETED' ? await handle.result() : undefined;
      return {
        takenAt: takenAt.toISOString(),
        workflowId: action.workflow.workflowId,
        status: status.name,
        drift: result === undefined ? undefined : driftReport(result),
        fleet: result === undefined ? undefined : efsFleetOf(result),
      };
    }),
  );
}

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('periodic re-apply with Temporal Schedules (overlap: skip)');
  schedule.addCommand(createCommand());

  schedule.addCommand(
    new Command('list')
      .description("list sharemount's schedules")
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExample:\n  $ sharemount schedule list --json')
      .action(async (options: { json?: boolean }) =>
        withSession(async (session) => {
          const rows: Array<{ name: string; note?: string; paused: boolean; next?: string }> = [];
          for await (const s of session.client.schedule.list({ query: 'ScheduleId STARTS_WITH "sharemount-schedule-"' })) {
            if (!s.scheduleId.startsWith('sharemount-schedule-')) continue;
            rows.push({
              name: s.scheduleId.replace('sharemount-schedule-', ''),
              note: s.state.note,
              paused: s.state.paused,
              next: s.info.nextActionTimes[0]?.toISOString(),
            });
          }
          if (options.json) printJson(rows);
          else
            process.stdout.write(
              `${table(
                ['schedule', 'what', 'paused', 'next run'],
                rows.map((r) => [r.name, r.note ?? '', String(r.paused), r.next ?? '']),
              )}\n`,
            );
        }),
      ),
  );

  schedule.addCommand(
    new Command('describe')
      .description('show a schedule, its next runs, and what its recent runs found and fixed')
      .argument('<name>')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExample:\n  $ sharemount schedule describe models-hourly')
      .action(async (name: string, options: { json?: boolean }) =>
        withSession(async (session) => {
          const description = await handleOf(session.client, name)
            .describe()
            .catch((error) => missing(error, name));
          const runs = await recentRuns(session, description.info.recentActions as never);
          const summary = {
            name,
            note: description.state.note,
            paused: description.state.paused,
            nextRuns: description.info.nextActionTimes.map((t) => t.toISOString()),
            runs,
          };
          if (options.json) return printJson(summary);
          process.stdout.write(
            `schedule ${name}: ${summary.note ?? ''}${summary.paused ? ' (paused)' : ''}\nnext: ${summary.nextRuns.slice(0, 3).join(', ')}\n`,
          );
          for (const run of runs)
            process.stdout.write(
              `${run.takenAt} ${run.workflowId} ${run.status}${[...(run.drift?.lines ?? []), ...(run.fleet ?? [])].map((line) => `\n  ${line}`).join('')}\n`,
            );
        }),
      ),
  );

  const simple = (verb: 'pause' | 'resume' | 'trigger' | 'delete', description: string) =>
    new Command(verb)
      .description(description)
      .argument('<name>')
      .option('--json', 'print JSON')
      .addHelpText('after', `\nExample:\n  $ sharemount schedule ${verb} models-hourly`)
      .action(async (name: string, options: { json?: boolean }) =>
        withSession(async (session) => {
          const handle = handleOf(session.client, name);
          const run = {
            pause: () => handle.pause('paused from the sharemount CLI'),
            resume: () => handle.unpause('resumed from the sharemount CLI'),
            trigger: () => handle.trigger(ScheduleOverlapPolicy.SKIP),
            delete: () => handle.delete(),
          }[verb];
          await run().catch((error) => missing(error, name));
          if (options.json) printJson({ schedule: name, [verb]: true });
          else process.stdout.write(`schedule ${name}: ${verb} done\n`);
        }),
      );
  schedule.addCommand(simple('pause', 'pause a schedule'));
  schedule.addCommand(simple('resume', 'resume a paused schedule'));
  schedule.addCommand(simple('trigger', 'run a schedule now (skipped if its previous run is still going)'));
  schedule.addCommand(simple('delete', 'delete a schedule (runs already started go on)'));
  return schedule;
}
