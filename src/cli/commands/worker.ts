import { Command } from 'commander';
import { defaultNodeName, settingsFromEnv } from '../../temporal/connection';
import { integerOption, pveContainerVersionOption } from '../parsers';
import { LOCAL_ADDRESS } from '../session';

export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (default 127.0.0.1:7233): the shape used in production and in compose')
    .option('--node <name>', 'serve the lxc:<node> queue of this Proxmox node (run it on that node)')
    .option('--lxc', `serve the lxc queue of this host (node ${defaultNodeName()})`)
    .option('--no-general', 'do not serve the general queue (EFS, doctor)')
    .option('--pve-dir <dir>', 'where Proxmox keeps container configs', '/etc/pve')
    .option('--pct <command>', 'the pct command', 'pct')
    .addOption(pveContainerVersionOption())
    .addOption(integerOption('--max-concurrent-activities <n>', 'activities run at once', { min: 1, max: 10_000, default: 200 }))
    .addHelpText(
      'after',
      '\nExamples:\n  $ sharemount worker                 # EFS and doctor work\n  $ sharemount worker --lxc           # on a Proxmox node: also its LXC work',
    )
    .action(
      async (options: {
        node?: string;
        lxc?: boolean;
        general: boolean;
        pveDir: string;
        pct: string;
        pveContainerVersion?: string;
        maxConcurrentActivities: number;
      }) => {
        const { connectWorker, createWorkers, runWorkers } = await import('../../worker');
        const settings = settingsFromEnv();
        const address = settings.address ?? LOCAL_ADDRESS;
        const connection = await connectWorker({ ...settings, address });
        const node = options.node ?? (options.lxc ? defaultNodeName() : undefined);
        const workers = await createWorkers(connection, settings.namespace, {
          general: options.general,
          node,
          pveDir: options.pveDir,
          pct: options.pct,
          ...(options.pveContainerVersion === undefined ? {} : { pveContainerVersion: options.pveContainerVersion }),
          maxConcurrentActivities: options.maxConcurrentActivities,
        });
        process.stdout.write(
          `worker connected to ${address} (namespace ${settings.namespace}), polling ${workers.map((w) => w.options.taskQueue).join(', ')}\n`,
        );
        const stop = () => workers.forEach((worker) => worker.shutdown());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await runWorkers(workers);
        await connection.close();
      },
    );
}
