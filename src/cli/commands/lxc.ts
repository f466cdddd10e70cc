import * as fs from 'node:fs';
import { Command } from 'commander';
import { readLxcConfigFile } from '../../host/lxcConfigFile';
import { gatherLxcFacts } from '../../host/proxmox/facts';
import { proxmoxNode, type ProxmoxNodeOptions } from '../../host/proxmox/node';
import { walkEngineChoice } from '../../host/walk';
import type { LxcConfig } from '../../domain/lxc/config';
import type { RunProgress } from '../../domain/progress';
import { describeWalkEngine, type WalkEngineChoice } from '../../domain/walkEngine';
import { buildLxcPlan, type ContainerSummary, type LxcPlan } from '../../domain/lxc/plan';
import { mountStateAdvice, type MountState } from '../../domain/lxc/mountPoints';
import { lxcTaskQueue } from '../../domain/taskQueues';
import { lxcApplyWorkflowId } from '../../domain/workflowIds';
import { lxcApplyWorkflow, type LxcApplyResult } from '../../workflows';
import { runSearchAttributes } from '../../workflows/definitions';
import { defaultNodeName } from '../../temporal/connection';
import { CliError, EXIT } from '../exitCodes';
import { pveContainerVersionOption, strategyOption } from '../parsers';
import type { StrategySetting } from '../../domain/lxc/volume';
import { paint, printJson, table } from '../output';
import { renderSummary, runWorkflow } from '../run';
import { openSession } from '../session';
import { runSucceeded } from '../verdict';

export interface LxcOptions {
  config: string;
  volume?: string;
  node: string;
  pveDir: string;
  pct: string;
  pveContainerVersion?: string;
  strategy?: StrategySetting;
  json?: boolean;
}

function nodeOptions(options: LxcOptions): ProxmoxNodeOptions {
  const version = options.pveContainerVersion === undefined ? {} : { pveContainerVersion: options.pveContainerVersion };
  return { pveDir: options.pveDir, pct: options.pct, nodeName: options.node, ...version };
}

/** The config as read, with --strategy (when given) in place of each volume's own. */
function readConfig(options: LxcOptions): LxcConfig {
  const config = readLxcConfigFile(options.config, options.volume);
  return options.strategy === undefined ? config : { volumes: config.volumes.map((v) => ({ ...v, strategy: options.strategy })) };
}

/** The plan, and the ownership walk this host would run (its worker reads the same files and environment). */
export type LocalLxcPlan = LxcPlan & { walkEngine: WalkEngineChoice };

/** The plan from this host's own files; changes nothing. */
export async function planLocally(config: LxcConfig, options: LxcOptions): Promise<LocalLxcPlan> {
  const facts = await gatherLxcFacts(config, proxmoxNode(nodeOptions(options)), options.node);
  return { ...buildLxcPlan(config, facts), walkEngine: walkEngineChoice() };
}

export function renderPlan(plan: LocalLxcPlan): string {
  const mountText: Record<MountState, string> = {
    new: paint('yellow', 'new'),
    present: paint('green', 'present'),
    pending: paint('yellow', 'pending restart'),
    drift: paint('red', 'drift'),
    readOnly: paint('red', 'read-only'),
    pendingDelete: paint('red', 'pending delete'),
    ignored: paint('red', 'ignored by Proxmox'),
    conflict: paint('red', 'conflict'),
  };
  const blocks = plan.volumes.map((volume) => {
    const owner = volume.owner
      ? `${volume.owner.uid}:${volume.owner.gid} (${volume.owner.mode}${volume.owner.user ? `, ${volume.owner.user}` : ''})`
      : paint('red', 'unresolved');
    const rows = volume.containers.map((c) => [
      `CT ${c.ctid}${c.node ? ` (${c.node})` : ''}`,
      c.containerPath,
      c.rootUid === null
        ? paint('red', 'unmapped')
        : `${c.rootUid}:${c.rootGid}${c.writesAs ? ` (writes as ${c.writesAs.uid}:${c.writesAs.gid}, ${c.writesAs.through})` : ''}`,
      `mp${c.slot}`,
      `${mountText[c.mount]}${c.currentHostPath ? ` (${c.mount === 'conflict' ? 'mounts' : 'binds'} ${c.currentHostPath})` : ''}${c.differs ? ` (${c.differs.join(', ')})` : ''}${c.pendingUntilRestart && c.mount !== 'pending' ? ' [pve:pending]' : ''}`,
      runningText(c.running),
    ]);
    const lines = [`volume ${volume.name}: ${volume.hostPath} → owner ${owner}${volume.walkNode ? ` (walked on ${volume.walkNode})` : ''}`];
    lines.push(`  strategy: ${volume.strategy.name} (${volume.strategy.reason})`);
    if (volume.note) lines.push(`  note: ${volume.note}`);
    lines.push(table(['container', 'path', 'root uid:gid', 'slot', 'mount', 'state'], rows).replace(/^/gm, '  '));
    for (const c of volume.containers) {
      const options = Object.entries(c.options ?? {}).map(([k, v]) => `${k}=${v}`);
      if (options.length) lines.push(`  CT ${c.ctid} mp${c.slot}: ${options.join(',')}`);
    }
    for (const c of volume.containers) {
      // A conflict is an error below already; the other states apply leaves say what to do here.
      const advice = c.mount === 'conflict' ? undefined : mountStateAdvice(c, c.ctid, volume.hostPath, c.containerPath);
      if (advice) lines.push(paint('yellow', `  CT ${c.ctid}: ${advice}`));
    }
    for (const warning of volume.warnings ?? []) lines.push(paint('yellow', `  warning: ${warning.field}: ${warning.problem}`));
    for (const error of volume.errors ?? []) lines.push(paint('red', `  error: ${error.field}: ${error.problem}`));
    return lines.join('\n');
  });
  blocks.push(...plan.containers.map(renderContainer));
  const walk = `walk engine: ${describeWalkEngine(plan.walkEngine)}`;
  return [
    ...blocks,
    plan.walkEngine.engine === 'native' ? walk : paint('yellow', walk),
    plan.ok ? 'plan ok: nothing has been changed' : paint('red', 'plan has errors: apply would refuse; nothing has been changed'),
  ].join('\n\n');
}

function runningText(running: boolean | null): string {
  if (running === null) return paint('yellow', 'unknown');
  return running ? 'running' : 'stopped';
}

/** Every mount point of a container as Proxmox reads it, and what Proxmox warns about in its file. */
function renderContainer(ct: ContainerSummary): string {
  const flags = [
    runningText(ct.running),
    ct.unprivileged === false ? 'privileged' : undefined,
    ct.protection ? 'protection: 1' : undefined,
    ct.lock ? `lock: ${ct.lock}` : undefined,
  ];
  const lines = [`CT ${ct.ctid}${ct.node ? ` on ${ct.node}` : ''} (${ct.file}): ${flags.filter(Boolean).join(', ')}`];
  if (ct.problem) lines.push(paint('red', `  error: ${ct.problem}`));
  if (ct.mountPoints.length) {
    const rows = ct.mountPoints.map((m) => [
      `${m.key}${m.section === 'pending' ? ' [pve:pending]' : ''}`,
      m.parseable ? (m.type === 'volume' ? 'storage volume' : m.type!) : paint('red', 'ignored by Proxmox'),
      m.volume ?? '',
      m.containerPath ?? '',
      [
        m.ro ? 'ro' : '',
        m.idmap ? `idmap=${m.idmap}` : '',
        m.mountoptions ? `mountoptions=${m.mountoptions}` : '',
        m.backup === undefined ? '' : `backup=${m.backup ? 1 : 0}`,
        m.pendingDelete ? paint('red', 'pending delete') : '',
        m.problem ?? '',
      ]
        .filter(Boolean)
        .join(' '),
    ]);
    lines.push(table(['key', 'type', 'volume', 'container path', 'notes'], rows).replace(/^/gm, '  '));
  }
  for (const w of ct.warnings ?? []) lines.push(paint('yellow', `  warning: ${w.file}${w.line === undefined ? '' : `:${w.line}`}: ${w.problem}`));
  return lines.join('\n');
}

function printPlan(plan: LocalLxcPlan, json?: boolean): void {
  if (json) printJson(plan);
  else process.stdout.write(`${renderPlan(plan)}\n`);
}

function sharedOptions(command: Command): Command {
  return command
    .requiredOption('--config <file>', 'phoenix_hypervisor_config.json (its shared_volumes)')
    .option('--volume <name>', 'only this volume')
    .option('--node <name>', 'Proxmox node (its worker polls lxc:<node>)', defaultNodeName())
    .option('--pve-dir <dir>', 'where Proxmox keeps container configs (lxc/<ctid>.conf)', '/etc/pve')
    .option('--pct <command>', 'the pct command', 'pct')
    .addOption(pveContainerVersionOption())
    .addOption(strategyOption())
    .option('--json', 'print JSON');
}

function renderApply(result: LxcApplyResult, progress?: RunProgress): string {
  const pending = result.volumes.flatMap((v) => (v.result?.pendingRestart ?? []).map((ct) => `CT ${ct} (${v.name})`));
  const changes = result.volumes.reduce((sum, v) => sum + (v.result?.changes ?? 0), 0);
  return [
    ...result.volumes.filter((v) => !v.ok).map((v) => paint('red', `volume ${v.name} failed: ${v.error}`)),
    pending.length ? paint('yellow', `pending until restart (sharemount never restarts containers): ${pending.join(', ')}`) : '',
    changes === 0 && runSucceeded(lxcApplyWorkflow, result, progress) ? 'converged: nothing needed changing' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export function lxcCommand(): Command {
  const lxc = new Command('lxc').description('Proxmox LXC shared volumes: owner from each container idmap, safe ownership walk, mpN bind mounts');

  lxc.addCommand(
    sharedOptions(new Command('plan'))
      .description('print the exact actions apply would take (owners, slots, new/present/drift mounts); changes nothing')
      .addHelpText(
        'after',
        '\nExamples:\n  $ sharemount lxc plan --config /etc/phoenix/phoenix_hypervisor_config.json\n  $ sharemount lxc plan --config phoenix.json --volume vllm_models --json | jq .volumes[0].owner',
      )
      .action(async (options: LxcOptions) => {
        const plan = await planLocally(readConfig(options), options);
        printPlan(plan, options.json);
        process.exitCode = plan.ok ? EXIT.ok : EXIT.badInput;
      }),
  );

  lxc.addCommand(
    sharedOptions(new Command('apply'))
      .description('make every shared volume writable by the containers that mount it, as a durable workflow on lxc:<node>')
      .option('--fix-drift', 'rebind mpN slots that point the container path at another host path')
      .option('--full-scan', 'walk every entry even when the volume root and a sample look right')
      .option('--dry-run', 'print the plan and stop (same as `lxc plan`)')
      .option('--detach', 'start the workflow and return its ID without following it')
      .addHelpText(
        'after',
        '\nExamples:\n  $ sharemount lxc apply --config phoenix.json\n  $ sharemount lxc apply --config phoenix.json --volume vllm_models --fix-drift',
      )
      .action(async (options: LxcOptions & { fixDrift?: boolean; fullScan?: boolean; dryRun?: boolean; detach?: boolean }) => {
        const config = readConfig(options);
        // On the node itself, refuse a plan with errors before anything starts; elsewhere the workflow
        // checks the same facts on the node before its first change.
        if (options.dryRun || fs.existsSync(`${options.pveDir}/lxc`)) {
          const plan = await planLocally(config, options);
          if (options.dryRun || !plan.ok) {
            printPlan(plan, options.json);
            if (!plan.ok) throw new CliError('the plan has errors (above); nothing was changed', EXIT.badInput);
            return;
          }
        }
        const taskQueue = lxcTaskQueue(options.node);
        const version = options.pveContainerVersion === undefined ? {} : { pveContainerVersion: options.pveContainerVersion };
        const session = await openSession({ embedded: { worker: { node: options.node, pveDir: options.pveDir, pct: options.pct, ...version } } });
        try {
          process.exitCode = await runWorkflow(
            session,
            lxcApplyWorkflow,
            {
              taskQueue,
              workflowId: lxcApplyWorkflowId(options.node, options.volume),
              args: [{ node: options.node, volumes: config.volumes, fixDrift: Boolean(options.fixDrift), fullScan: Boolean(options.fullScan) }],
              staticSummary: `LXC apply on ${options.node}: ${config.volumes.map((v) => v.name).join(', ')} (${config.volumes.reduce((n, v) => n + v.mounts.length, 0)} container mounts)`,
              typedSearchAttributes: runSearchAttributes(
                'lxc',
                config.volumes.map((v) => v.name),
                [...new Set(config.volumes.flatMap((v) => v.mounts.map((m) => `ct${m.ctid}`)))],
              ),
            },
            { json: Boolean(options.json), detach: options.detach, render: (r, p) => [renderSummary(r, p), renderApply(r, p)].filter(Boolean).join('\n') },
          );
        } finally {
          await session.close();
        }
      }),
  );
  return lxc;
}
