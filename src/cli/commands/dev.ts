import { Command } from 'commander';
import { portOption, pveContainerVersionOption } from '../parsers';
import { dataDir, startEmbedded } from '../session';
import { defaultNodeName } from '../../temporal/connection';

export function devCommand(): Command {
  return new Command('dev')
    .description('run the embedded default: a local Temporal dev server (history in SQLite), its Web UI, and a worker')
    .addOption(portOption('--port <port>', 'gRPC port', 7233))
    .addOption(portOption('--ui-port <port>', 'Web UI port', 8233))
    .option('--node <name>', 'Proxmox node whose lxc:<node> queue the worker serves', defaultNodeName())
    .option('--pve-dir <dir>', 'where Proxmox keeps container configs', '/etc/pve')
    .option('--pct <command>', 'the pct command', 'pct')
    .addOption(pveContainerVersionOption())
    .addHelpText('after', '\nExample:\n  $ sharemount dev\n  $ TEMPORAL_ADDRESS=127.0.0.1:7233 sharemount doctor   # in another terminal')
    .action(async (options: { port: number; uiPort: number; node: string; pveDir: string; pct: string; pveContainerVersion?: string }) => {
      const { server, workers, running } = await startEmbedded({
        port: options.port,
        uiPort: options.uiPort,
        worker: {
          node: options.node,
          pveDir: options.pveDir,
          pct: options.pct,
          ...(options.pveContainerVersion === undefined ? {} : { pveContainerVersion: options.pveContainerVersion }),
        },
      });
      process.stdout.write(
        `Temporal dev server: ${server.address}\nWeb UI:              ${server.uiUrl}\nData:                ${dataDir()}\n` +
          `Worker polling:      ${workers.map((w) => w.options.taskQueue).join(', ')}\nPress Ctrl-C to stop.\n`,
      );
      const stop = () => {
        process.stdout.write('\nstopping…\n');
        workers.forEach((worker) => worker.shutdown());
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await running;
      await server.stop();
    });
}
