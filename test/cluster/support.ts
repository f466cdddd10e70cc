/**
 * The parts of a real cluster, each a real process: Debian's PostgreSQL in a throwaway data directory,
 * `sharemount server` (the real Temporal server built by `npm run setup:cluster`), and sharemount workers and
 * commands run through the built CLI, as an operator runs them.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHAREMOUNT_BIN, type CliOptions } from '../support/cliProcess';

export const ROOT = path.resolve(__dirname, '../..');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Debian's PostgreSQL (the newest major under /usr/lib/postgresql), or SHAREMOUNT_PG_BIN. Missing fails. */
function postgresBin(): string {
  if (process.env.SHAREMOUNT_PG_BIN) return process.env.SHAREMOUNT_PG_BIN;
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  if (!majors.length)
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/<major>/bin/initdb): apt-get install postgresql, or set SHAREMOUNT_PG_BIN');
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port whose whole block is free: the server's template puts frontend, history, matching and worker
 * at +0, +1, +2, +6, their membership ports 300 below, HTTP at +10; the UI gets +20.
 */
export async function freeServerPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // The whole block below 32768: the membership ports (300 below, up to +6) are a smallint in Temporal's
    // PostgreSQL schema, and 32768 up is Linux's ephemeral range, where any outgoing connection may take one.
    const base = 20_000 + Math.floor(Math.random() * (32_767 - 20 - 20_000));
    const ports = [0, 1, 2, 6, 10, 20].flatMap((offset) => [base + offset, base + offset - 300]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port block for a Temporal server');
}

export interface Postgres {
  port: number;
  url(database?: string): string;
  stop(): void;
}

/**
 * initdb + pg_ctl in a temporary directory. PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` OS user that Debian's package creates. Password authentication over TCP, as a cluster has it.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-pg-'));
  const asRoot = process.getuid?.() === 0;
  const runAs = (command: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' }) : execFileSync(command, args, { stdio: 'pipe' });
  const password = `pw-${process.pid}`;
  fs.writeFileSync(path.join(dir, 'pwfile'), `${password}\n`);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  runAs(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'temporal',
    `--pwfile=${path.join(dir, 'pwfile')}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '-E',
    'UTF8',
  ]);
  let port = 0;
  for (let attempt = 0; attempt < 20 && !port; attempt++) {
    // Below the server blocks (their membership ports start at 19700) and the ephemeral range.
    const candidate = 10_000 + Math.floor(Math.random() * 9_000);
    if (await portFree(candidate)) port = candidate;
  }
  runAs(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'postgres.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    port,
    url: (database = '') => `postgres://temporal:${password}@127.0.0.1:${port}/${database}`,
    stop() {
      try {
        runAs(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface Proc {
  child: ChildProcess;
  log: string;
  output(): string;
  /** Ends the process and its group (the server's Temporal and UI children are in it). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The built CLI as a long-running process in its own process group, its output in a log file; `bin` another
 * installed copy than this checkout's, `wrapper` a command it runs under (a node's network namespace).
 */
export function spawnSharemount(
  args: string[],
  env: Record<string, string>,
  logDir: string,
  name: string,
  options: Pick<CliOptions, 'bin' | 'wrapper'> = {},
): Proc {
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const [command, ...commandArgs] = [...(options.wrapper ?? []), process.execPath, options.bin ?? SHAREMOUNT_BIN, ...args];
  const child = spawn(command, commandArgs, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log,
    output: () => fs.readFileSync(log, 'utf8'),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      }
      return exited;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** `sharemount server` until it says it serves; its output explains a failure. */
export async function startServer(dbUrl: string, port: number, logDir: string, name: string, extra: string[] = []): Promise<Proc> {
  const server = spawnSharemount(['server', '--db', dbUrl, '--port', String(port), '--ui-port', String(port + 20), ...extra], {}, logDir, name);
  await waitFor(
    `sharemount server (${server.log})`,
    () => {
      if (server.child.exitCode !== null) throw new Error(`sharemount server exited with ${server.child.exitCode}:\n${server.output().slice(-3000)}`);
      return server.output().includes('Press Ctrl-C to stop') || undefined;
    },
    180_000,
  );
  return server;
}

export interface Certificates {
  dir: string;
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  serverName: string;
}

/** A CA, a server certificate (also used by the server's own system workers) and a client certificate. */
export function makeCertificates(dir: string, serverName = 'sharemount-cluster'): Certificates {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name)]);
  key('ca.key');
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    file('ca.key'),
    '-subj',
    '/CN=sharemount test CA',
    '-days',
    '2',
    '-out',
    file('ca.pem'),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [name, subject, ext] of [
    ['server', serverName, `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`],
    ['client', 'sharemount worker', 'extendedKeyUsage=clientAuth\n'],
  ]) {
    key(`${name}.key`);
    openssl(['req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${subject}`, '-out', file(`${name}.csr`)]);
    fs.writeFileSync(file(`${name}.ext`), ext);
    openssl([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    ]);
  }
  return {
    dir,
    ca: file('ca.pem'),
    server: { cert: file('server.pem'), key: file('server.key') },
    client: { cert: file('client.pem'), key: file('client.key') },
    serverName,
  };
}
