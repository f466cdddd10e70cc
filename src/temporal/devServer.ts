import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/searchAttributes';
import { temporalBinary } from './binary';

export interface DevServerOptions {
  /** SQLite file that keeps history across restarts; omitted means in memory. */
  dbFile?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; `false` runs headless. */
  uiPort?: number | false;
  ip?: string;
  /** Where the server's own log goes; omitted means discarded. */
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

/**
 * Starts `temporal server start-dev` with sharemount's search attributes registered, and resolves once the
 * frontend answers. The caller owns the returned handle and must `stop()` it.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === false ? undefined : options.uiPort || (await freePort(ip));
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  args.push(uiPort === undefined ? '--headless' : '--ui-port', ...(uiPort === undefined ? [] : [String(uiPort)]));
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const log = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(temporalBinary(), args, { stdio: ['ignore', log, log], detached: false });
  if (typeof log === 'number') fs.closeSync(log);
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
  while (!(await isTemporalReachable(address, 1000))) {
    if (exited) throw new Error(`the Temporal dev server ${exited} before it answered${options.logFile ? ` (log: ${options.logFile})` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Temporal dev server did not answer at ${address} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`,
    process: child,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
