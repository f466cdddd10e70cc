import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/searchAttributes';
import { temporalBinary } from './binary';
import { DYNAMIC_CONFIG_FILE } from './clusterServer';
import { stopProcess } from './stopProcess';

export interface DevServerOptions {
  /** SQLite file that keeps history across restarts; omitted means in memory. */
  dbFile?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; `false` runs headless. */
  uiPort?: number | false;
  ip?: string;
  /** Where the server's own log goes; omitted: a private file that is removed once the start is decided. */
  logFile?: string;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl?: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something answers Temporal's health check at `address`. */
export async function isTemporalReachable(address: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.healthService.check({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/** The server could not listen: a port it was given or picked was taken meanwhile. */
export class PortInUseError extends Error {}

const START_ATTEMPTS = 3;

/**
 * The dynamic config every shape runs with, from the one file the real server reads too
 * (deploy/temporal/dynamicconfig.yaml, written as JSON so it needs no YAML parser here). Among them, eager
 * activities: a workflow task's completion hands the worker its next activity directly instead of through a
 * poll; off by default in the server, on here it cut a 100-instance fan-out's time by about a fifth
 * (BENCHMARKS.md). The dev server takes plain values only, so a constrained entry is refused.
 */
export function sharedDynamicConfig(): Record<string, unknown> {
  const file: Record<string, Array<{ value: unknown; constraints?: object }>> = JSON.parse(fs.readFileSync(DYNAMIC_CONFIG_FILE, 'utf8'));
  return Object.fromEntries(
    Object.entries(file).map(([key, entries]) => {
      if (entries.length !== 1 || (entries[0].constraints && Object.keys(entries[0].constraints).length)) {
        throw new Error(`${DYNAMIC_CONFIG_FILE}: ${key} must have one value without constraints (the dev server takes no others)`);
      }
      return [key, entries[0].value];
    }),
  );
}

/**
 * Starts `temporal server start-dev` with sharemount's search attributes registered, and resolves once the
 * frontend answers. The caller owns the returned handle and must `stop()` it. A port that another process
 * took between our check and the server's bind (busy test machines) costs a retry, with a fresh port where
 * the caller let us pick.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function startOnce(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === false ? undefined : options.uiPort || (await freePort(ip));
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  for (const [key, value] of Object.entries(sharedDynamicConfig())) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  args.push(uiPort === undefined ? '--headless' : '--ui-port', ...(uiPort === undefined ? [] : [String(uiPort)]));
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  // Without a log file of the caller's, a private one (unlinked once the start is decided) still says why a
  // start failed, e.g. a port taken between our check and the server's bind.
  const logFile = options.logFile ?? path.join(os.tmpdir(), `sharemount-temporal-${process.pid}-${port}.log`);
  const privateLog = options.logFile === undefined;
  const log = fs.openSync(logFile, 'a');
  const logStart = fs.fstatSync(log).size;
  const child = spawn(temporalBinary(), args, { stdio: ['ignore', log, log], detached: false });
  fs.closeSync(log);
  const forgetPrivateLog = () => {
    if (privateLog) fs.rmSync(logFile, { force: true });
  };
  let exited: string | undefined;
  // The server belongs to this process: never leave it running behind a CLI that exits or crashes.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
    process.removeListener('exit', killOnExit);
  });

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  try {
    while (!(await isTemporalReachable(address, 1000))) {
      if (exited) throw startFailure(exited, privateLog ? undefined : logFile, logSince(logFile, logStart), [port, uiPort]);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the Temporal dev server did not answer at ${address} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    forgetPrivateLog();
  }

  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`,
    process: child,
    stop: () => stopProcess(child, 10_000),
  };
}

/** Why the server stopped before answering, with the end of what it logged during this start. */
function startFailure(exited: string, logFile: string | undefined, said: string, ports: Array<number | undefined>): Error {
  const where = logFile ? ` (log: ${logFile})` : '';
  if (/address already in use/i.test(said)) {
    return new PortInUseError(
      `the Temporal dev server ${exited}: a port it needs is in use (${ports.filter(Boolean).join(', ')} or one it picked itself)${where}`,
    );
  }
  const tail = said.trim().split('\n').slice(-5).join('\n');
  return new Error(`the Temporal dev server ${exited} before it answered${where}${tail ? `:\n${tail}` : ''}`);
}

function logSince(file: string, offset: number): string {
  try {
    const text = fs.readFileSync(file);
    return text.subarray(offset).subarray(-8192).toString('utf8');
  } catch {
    return '';
  }
}
