import { Command, Option } from 'commander';
import { InputError } from '../../domain/errors';
import { parseDatabaseUrl, ServerTls, startClusterServer } from '../../temporal/clusterServer';
import { CliError, EXIT } from '../exitCodes';
import { integerOption, portOption } from '../parsers';

interface ServerOptions {
  db: string;
  ip: string;
  port: number;
  broadcastAddress?: string;
  uiPort: number;
  ui: boolean;
  namespace: string;
  retentionDays: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
}

/** All four TLS settings or none: a half-configured mutual TLS would start a server nobody can reach. */
function tlsFrom(options: ServerOptions): ServerTls | undefined {
  const given = { '--tls-cert': options.tlsCert, '--tls-key': options.tlsKey, '--tls-ca': options.tlsCa, '--tls-server-name': options.tlsServerName };
  const missing = Object.entries(given).filter(([, value]) => !value);
  if (missing.length === 4) return undefined;
  if (missing.length) throw new InputError(missing[0][0], 'mutual TLS needs --tls-cert, --tls-key, --tls-ca and --tls-server-name together');
  return { certFile: options.tlsCert!, keyFile: options.tlsKey!, caFile: options.tlsCa!, serverName: options.tlsServerName! };
}

export function serverCommand(): Command {
  return (
    new Command('server')
      .description('run the real Temporal server (not the dev server) on an existing PostgreSQL, with its Web UI: for a team cluster')
      .addOption(new Option('--db <url>', 'PostgreSQL: postgres://user:password@host:port[/database][?sslmode=...]').env('SHAREMOUNT_DB').makeOptionMandatory())
      .addOption(new Option('--ip <ip>', 'address the server binds to').env('SHAREMOUNT_SERVER_IP').default('127.0.0.1'))
      // The services' membership ports sit 300 below theirs (up to +6) and PostgreSQL stores them as a smallint:
      // a port block above 33061 would stop the server at its first membership heartbeat.
      .addOption(
        integerOption('--port <port>', 'frontend gRPC port (history, matching and worker use the next ones; 301..33061)', {
          min: 301,
          max: 33061,
          default: 7233,
        }).env('SHAREMOUNT_SERVER_PORT'),
      )
      .addOption(new Option('--broadcast-address <ip>', 'where other hosts reach this one (default: --ip, or the first host address for 0.0.0.0)'))
      .addOption(portOption('--ui-port <port>', 'Web UI port', 8233).env('SHAREMOUNT_UI_PORT'))
      .option('--no-ui', 'run without the Web UI')
      .option('--namespace <name>', 'namespace to register', 'default')
      .addOption(integerOption('--retention-days <days>', 'days a finished run stays in history', { min: 1, max: 3650, default: 30 }))
      .addOption(new Option('--tls-cert <file>', "the server's certificate (mutual TLS on the frontend)").env('SHAREMOUNT_SERVER_TLS_CERT'))
      .addOption(new Option('--tls-key <file>', "the server certificate's key").env('SHAREMOUNT_SERVER_TLS_KEY'))
      .addOption(new Option('--tls-ca <file>', 'CA that client and worker certificates must chain to').env('SHAREMOUNT_SERVER_TLS_CA'))
      .addOption(new Option('--tls-server-name <name>', "the name in the server's certificate").env('SHAREMOUNT_SERVER_TLS_SERVER_NAME'))
      .addHelpText(
        'after',
        '\nThe server is built by `npm run setup:cluster`; its configuration is deploy/temporal (shared with docker-compose.yml).\n' +
          'Example:\n  $ sharemount server --db postgres://temporal:secret@db.example:5432\n' +
          '  $ TEMPORAL_ADDRESS=cluster:7233 sharemount worker --lxc   # on each Proxmox node',
      )
      .action(async (options: ServerOptions) => {
        const db = parseDatabaseUrl(options.db);
        const tls = tlsFrom(options);
        const say = (line: string) => process.stdout.write(`${line}\n`);
        const server = await startClusterServer({
          db,
          ip: options.ip,
          port: options.port,
          broadcastAddress: options.broadcastAddress,
          uiPort: options.ui ? options.uiPort : false,
          namespace: options.namespace,
          retentionDays: options.retentionDays,
          tls,
          say,
        }).catch((error: Error) => {
          throw new CliError(`cannot start the Temporal server: ${error.message}`, EXIT.temporalUnreachable);
        });
        say(
          `Temporal server: ${server.address} (namespace ${options.namespace}${tls ? ', mutual TLS' : ''})\n` +
            `Web UI:          ${server.uiUrl ?? 'off'}\nHistory:         PostgreSQL ${db.host}:${db.port}/${db.database}\nPress Ctrl-C to stop.`,
        );
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          say('stopping…');
          void server.stop();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        const how = await server.exited;
        await server.stop();
        // Stopped by us is a clean end; a server that died on its own fails the unit, so systemd restarts it.
        if (!stopping) throw new CliError(`the Temporal server ${how}`, EXIT.targetsFailed);
      })
  );
}
