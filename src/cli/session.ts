import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { isTemporalReachable, startDevServer, DevServer } from '../temporal/devServer';
import { defaultNodeName, settingsFromEnv, TemporalSettings } from '../temporal/connection';
import type { WorkerConfig } from '../worker';
import { CliError, EXIT } from './exitCodes';

/** The embedded default listens where Temporal's own tools look first. */
export const LOCAL_ADDRESS = '127.0.0.1:7233';
export const LOCAL_UI_PORT = 8233;

export function dataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return process.env.SHAREMOUNT_HOME || path.join(base, 'sharemount');
}

export interface Session {
  client: Client;
  settings: TemporalSettings & { address: string };
  /** The Web UI, when known (the embedded server's, or TEMPORAL_UI_URL). */
  uiUrl?: string;
  embedded: boolean;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Worker settings for the in-process worker the embedded server gets. */
  worker?: Omit<WorkerConfig, 'general'>;
  /** Ports: the defaults 7233/8233 unless told otherwise (the demo and tests pick free ones). */
  port?: number;
  uiPort?: number;
  dbFile?: string;
}

/** Starts the embedded default: a dev server whose history lives in SQLite, plus a worker in this process. */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<{ server: DevServer; workers: Worker[]; running: Promise<void> }> {
  const dir = dataDir();
  const server = await startDevServer({
    dbFile: options.dbFile ?? path.join(dir, 'temporal.db'),
    port: options.port ?? 7233,
    uiPort: options.uiPort ?? LOCAL_UI_PORT,
    logFile: path.join(dir, 'temporal.log'),
  }).catch((error: Error) => {
    throw new CliError(`cannot start the embedded Temporal dev server: ${error.message}`, EXIT.temporalUnreachable);
  });
  // The worker SDK takes a second to load: only commands that run work pay for it.
  const { connectWorker, createWorkers, runWorkers } = await import('../worker');
  let workers: Worker[];
  let connection: Awaited<ReturnType<typeof connectWorker>> | undefined;
  try {
    connection = await connectWorker({ address: server.address, namespace: 'default' });
    workers = await createWorkers(connection, 'default', { general: true, node: defaultNodeName(), ...options.worker });
  } catch (error) {
    await connection?.close();
    await server.stop();
    throw error;
  }
  const running = runWorkers(workers).finally(() => connection!.close());
  return { server, workers, running };
}

async function connectClient(settings: TemporalSettings & { address: string }): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey, connectTimeout: 5000 });
    return new Client({ connection, namespace: settings.namespace });
  } catch (error) {
    throw new CliError(
      `cannot reach Temporal at ${settings.address}: ${(error as Error).message}\n` +
        'Start the embedded server with `sharemount dev`, or point TEMPORAL_ADDRESS at your cluster.',
      EXIT.temporalUnreachable,
    );
  }
}

/**
 * Connects the CLI to Temporal. TEMPORAL_ADDRESS wins; else a server already on 127.0.0.1:7233 (for example
 * `sharemount dev`); else, when the command runs work (`embedded`), the embedded default is started for the
 * command's lifetime. Its history lives in SQLite under the data directory, so a command that dies halfway
 * and is run again attaches to the same workflow and finishes it.
 */
export async function openSession(options: { embedded?: EmbeddedOptions | false } = {}): Promise<Session> {
  const settings = settingsFromEnv();
  if (settings.address) {
    const client = await connectClient({ ...settings, address: settings.address });
    return {
      client,
      settings: { ...settings, address: settings.address },
      uiUrl: process.env.TEMPORAL_UI_URL,
      embedded: false,
      close: () => client.connection.close(),
    };
  }
  const local = { ...settings, address: LOCAL_ADDRESS };
  if (await isTemporalReachable(LOCAL_ADDRESS)) {
    const client = await connectClient(local);
    return {
      client,
      settings: local,
      uiUrl: process.env.TEMPORAL_UI_URL ?? `http://localhost:${LOCAL_UI_PORT}`,
      embedded: false,
      close: () => client.connection.close(),
    };
  }
  if (options.embedded === false || options.embedded === undefined) {
    throw new CliError(
      `nothing answers at ${LOCAL_ADDRESS} and TEMPORAL_ADDRESS is not set.\n` +
        'Start the embedded server with `sharemount dev`, or point TEMPORAL_ADDRESS at your cluster.',
      EXIT.temporalUnreachable,
    );
  }
  return openEmbeddedSession(options.embedded);
}

/** The embedded default for the lifetime of one command: a dev server and a worker in this process. */
export async function openEmbeddedSession(options: EmbeddedOptions): Promise<Session> {
  const settings = settingsFromEnv();
  const embedded = await startEmbedded(options);
  const client = await connectClient({ ...settings, address: embedded.server.address });
  return {
    client,
    settings: { ...settings, address: embedded.server.address },
    uiUrl: embedded.server.uiUrl,
    embedded: true,
    async close() {
      await client.connection.close();
      embedded.workers.forEach((worker) => worker.shutdown());
      await embedded.running;
      await embedded.server.stop();
    },
  };
}

/** For commands that only talk to Temporal (status, list, schedules): connect, run, close. */
export async function withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession();
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
