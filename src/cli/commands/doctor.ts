import { Command, Option } from 'commander';
import { Backend, BACKENDS, DoctorReport } from '../../domain/doctor';
import { lxcTaskQueue } from '../../domain/taskQueues';
import { generalTaskQueue } from '../../temporal/connection';
import { doctorWorkflow } from '../../workflows';
import { defaultNodeName } from '../../temporal/connection';
import { paint, table } from '../output';
import { runWorkflow } from '../run';
import { openSession } from '../session';
import { pveContainerVersionOption } from '../parsers';
import { readLxcConfigFile } from '../../host/lxcConfigFile';

function render(report: DoctorReport): string {
  const rows = report.checks.map((c) => [
    c.name,
    c.ok ? paint('green', 'ok') : c.requiredFor.some((b) => report.backends.includes(b)) ? paint('red', 'missing') : paint('yellow', 'missing'),
    c.detail,
    c.fix ?? '',
  ]);
  const verdict = report.ok
    ? paint('green', `ready for ${report.backends.join(' and ')}`)
    : paint('red', `not ready for ${report.backends.join(' and ')}: fix the checks marked missing in red`);
  return `host ${report.hostname}\n${table(['check', 'status', 'detail', 'fix'], rows)}\n${verdict}`;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description("check, on a worker, what the host offers for each backend, and how to fix what's missing")
    .addOption(new Option('--backend <backend>', 'backend whose prerequisites decide the exit code').choices([...BACKENDS, 'all']).default('all'))
    .option('--node <name>', 'for lxc: the Proxmox node to inspect (its worker polls lxc:<node>)', defaultNodeName())
    .option('--config <file>', "for lxc: phoenix_hypervisor_config.json, to check idmapped-mount support at each volume's host path")
    .addOption(pveContainerVersionOption())
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  $ sharemount doctor --backend lxc\n  $ sharemount doctor --json | jq .ok')
    .action(async (options: { backend: Backend | 'all'; node: string; config?: string; pveContainerVersion?: string; json?: boolean }) => {
      const backends: Backend[] = options.backend === 'all' ? [...BACKENDS] : [options.backend];
      const hostPaths = options.config === undefined ? [] : [...new Set(readLxcConfigFile(options.config).volumes.map((v) => v.hostPath))];
      const version = options.pveContainerVersion === undefined ? {} : { pveContainerVersion: options.pveContainerVersion };
      const taskQueue = backends.includes('lxc') ? lxcTaskQueue(options.node) : generalTaskQueue();
      const session = await openSession({ embedded: { worker: { node: options.node, ...version } } });
      try {
        process.exitCode = await runWorkflow(
          session,
          doctorWorkflow,
          {
            taskQueue,
            workflowId: `sharemount-doctor-${options.node}-${Date.now()}`,
            args: [{ backends, hostPaths }],
            staticSummary: `doctor: ${backends.join(', ')} on ${taskQueue}`,
          },
          { json: Boolean(options.json), render },
        );
      } finally {
        await session.close();
      }
    });
}
