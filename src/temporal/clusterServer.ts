import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { InputError } from '../domain/errors';
import { ensureSearchAttributes } from './searchAttributes';
import { stopProcess } from './stopProcess';

/**
 * The real Temporal server (not the dev server) on an existing PostgreSQL, as `sharemount server` runs it: the
 * binaries `npm run setup:cluster` builds, the schema their SQL tool embeds, and the configuration template in
 * deploy/temporal that docker-compose.yml mounts too. The server and the UI server render those templates
 * themselves from the SHAREMOUNT_TEMPORAL_* / SHAREMOUNT_UI_* variables set here.
 */

const PINNED: { server: string; ui: string } = require('../../temporal-version.json');
/** deploy/temporal at the package root (from src/temporal under ts-jest, from dist/temporal when built). */
export const DEPLOY_DIR = path.resolve(__dirname, '..', '..', 'deploy', 'temporal');
export const DYNAMIC_CONFIG_FILE = path.join(DEPLOY_DIR, 'dynamicconfig.yaml');
/** `--env sharemount` selects config/sharemount.yaml and ui/sharemount.yaml. */
const CONFIG_ENV = 'sharemount';

export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** History, and SQL visibility (what `list --volume` queries). */
  database: string;
  visibilityDatabase: string;
  /** The URL's query, for the PostgreSQL driver (sslmode=...), or '' */
  attributes: string;
}

/**
 * `postgres://user:pass@host:port[/name][?attrs]`: the databases are `name` and `name_visibility`, by default
 * `temporal` and `temporal_visibility` as in Temporal's own setups.
 */
export function parseDatabaseUrl(text: string): DatabaseSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError('--db', 'is not a URL; expected postgres://user:password@host:port[/database][?sslmode=...]');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new InputError('--db', `must be a postgres:// URL, not ${url.protocol}//`);
  if (!url.hostname) throw new InputError('--db', 'names no host');
  if (!url.username) throw new InputError('--db', 'names no user (postgres://user:password@host:port)');
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'temporal';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(name)) throw new InputError('--db', `database name ${JSON.stringify(name)}: letters, digits and _ only`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: name,
    visibilityDatabase: `${name}_visibility`,
    attributes: url.search.replace(/^\?/, ''),
  };
}

export interface ServerTls {
  certFile: string;
  keyFile: string;
  /** The CA whose certificates clients must present (mutual TLS), and the one this server's cert chains to. */
  caFile: string;
  /** The name in the server's certificate, for the server's own system workers and the UI. */
  serverName: string;
}

export interface ClusterServerOptions {
  db: DatabaseSettings;
  ip?: string;
  /** Frontend gRPC; history, matching and worker take the next ports (see the config template). */
  port?: number;
  /** Where other nodes reach this one; defaults to `ip`, or the host's first address when bound to 0.0.0.0. */
  broadcastAddress?: string;
  /** The Web UI; `false` runs none. */
  uiPort?: number | false;
  uiIp?: string;
  namespace?: string;
  /** Days a closed run's history is kept. */
  retentionDays?: number;
  tls?: ServerTls;
  /** Where the server's and the UI's own output goes; inherited (the journal, under systemd) when omitted. */
  logFile?: string;
  /** The built binaries; default .tools/temporal-server/<version> or SHAREMOUNT_TEMPORAL_SERVER_DIR. */
  toolsDir?: string;
  /** Progress lines for the operator. */
  say?: (line: string) => void;
}

export interface ClusterServer {
  readonly address: string;
  readonly uiUrl?: string;
  readonly process: ChildProcess;
  /** Settles when the server exits, with how. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export function serverToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHAREMOUNT_TEMPORAL_SERVER_DIR || path.resolve(__dirname, '..', '..', '.tools', 'temporal-server', PINNED.server);
}

function tool(dir: string, name: string): string {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    throw new Error(
      `${name} (Temporal server ${PINNED.server}) is not at ${file}: run \`npm run setup:cluster\` in the sharemount checkout, ` +
        'or set SHAREMOUNT_TEMPORAL_SERVER_DIR to the directory holding temporal-server, temporal-sql-tool and temporal-ui-server',
    );
  }
  return file;
}

function firstHostAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}

/** Runs a tool to its end; its output is kept only to explain a failure. */
function runTool(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/**
 * Creates both databases if missing and brings their schemas to the version this server needs, with the
 * schema the SQL tool embeds. Safe to run on every start: an existing database is kept, `setup-schema -v 0.0`
 * leaves a newer schema alone and `update-schema` applies only the versions not applied yet.
 */
export async function setupSchemas(db: DatabaseSettings, toolsDir = serverToolsDir()): Promise<void> {
  const sqlTool = tool(toolsDir, 'temporal-sql-tool');
  // Connection settings through the tool's own variables: the password stays out of the process list.
  const base = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: db.host,
    SQL_PORT: String(db.port),
    SQL_USER: db.user,
    SQL_PASSWORD: db.password,
    SQL_CONNECT_ATTRIBUTES: db.attributes,
  };
  for (const [database, schema] of [
    [db.database, 'postgresql/v12/temporal'],
    [db.visibilityDatabase, 'postgresql/v12/visibility'],
  ]) {
    const env = { ...base, SQL_DATABASE: database };
    const steps: Array<{ args: string[]; tolerate?: RegExp }> = [
      { args: ['create-database', '--defaultdb', 'postgres'], tolerate: /already exists/ },
      { args: ['setup-schema', '-v', '0.0'] },
      { args: ['update-schema', '--schema-name', schema] },
    ];
    for (const step of steps) {
      const { code, output } = await runTool(sqlTool, step.args, env);
      if (code !== 0 && !(step.tolerate && step.tolerate.test(output))) {
        const said = output.trim().split('\n').slice(-4).join('\n');
        throw new Error(`temporal-sql-tool ${step.args[0]} on database ${database} at ${db.host}:${db.port} failed (exit ${code}):\n${said}`);
      }
    }
  }
}

function connectionTls(tls: ServerTls | undefined) {
  if (!tls) return undefined;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: fs.readFileSync(tls.caFile),
    clientCertPair: { crt: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) },
  };
}

/** The environment the configuration templates in deploy/temporal are rendered from. */
export function templateEnv(options: ClusterServerOptions & { port: number; ip: string; broadcastAddress: string }): Record<string, string> {
  const { db, tls } = options;
  return {
    SHAREMOUNT_TEMPORAL_DB_HOST: db.host,
    SHAREMOUNT_TEMPORAL_DB_PORT: String(db.port),
    SHAREMOUNT_TEMPORAL_DB_USER: db.user,
    SHAREMOUNT_TEMPORAL_DB_PASSWORD: db.password,
    SHAREMOUNT_TEMPORAL_DB: db.database,
    SHAREMOUNT_TEMPORAL_VISIBILITY_DB: db.visibilityDatabase,
    SHAREMOUNT_TEMPORAL_DB_ATTRIBUTES: db.attributes,
    SHAREMOUNT_TEMPORAL_PORT: String(options.port),
    SHAREMOUNT_TEMPORAL_BIND_IP: options.ip,
    SHAREMOUNT_TEMPORAL_BROADCAST_ADDRESS: options.broadcastAddress,
    SHAREMOUNT_TEMPORAL_DYNAMIC_CONFIG: DYNAMIC_CONFIG_FILE,
    SHAREMOUNT_TEMPORAL_TLS_CERT: tls?.certFile ?? '',
    SHAREMOUNT_TEMPORAL_TLS_KEY: tls?.keyFile ?? '',
    SHAREMOUNT_TEMPORAL_TLS_CA: tls?.caFile ?? '',
    SHAREMOUNT_TEMPORAL_TLS_SERVER_NAME: tls?.serverName ?? '',
  };
}

/**
 * Sets up the schemas, starts the server, registers the namespace and the search attributes, then the UI.
 * Resolves once a client can start and list workflows that carry sharemount's search attributes.
 */
export async function startClusterServer(options: ClusterServerOptions): Promise<ClusterServer> {
  const say = options.say ?? (() => {});
  const toolsDir = options.toolsDir ?? serverToolsDir();
  const serverBin = tool(toolsDir, 'temporal-server');
  const uiBin = options.uiPort === false ? undefined : tool(toolsDir, 'temporal-ui-server');
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const broadcastAddress = options.broadcastAddress ?? (ip === '0.0.0.0' ? firstHostAddress() : ip);
  const namespace = options.namespace ?? 'default';

  say(`schema: ${options.db.database} and ${options.db.visibilityDatabase} at ${options.db.host}:${options.db.port}`);
  await setupSchemas(options.db, toolsDir);

  const output = options.logFile ? fs.openSync(options.logFile, 'a') : 'inherit';
  const stdio: ['ignore', number | 'inherit', number | 'inherit'] = ['ignore', output, output];
  const env = { ...process.env, ...templateEnv({ ...options, ip, port, broadcastAddress }) };
  const child = spawn(serverBin, ['--root', DEPLOY_DIR, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'], { env, stdio });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`exited with ${signal ?? code}`)));
  let exitedHow: string | undefined;
  void exited.then((how) => (exitedHow = how));
  const children: ChildProcess[] = [child];
  const stop = () => Promise.all(children.map((child) => stopProcess(child, 20_000))).then(() => undefined);

  const address = `${broadcastAddress === '0.0.0.0' ? '127.0.0.1' : broadcastAddress}:${port}`;
  try {
    const connection = await waitForFrontend(address, options.tls, () => exitedHow);
    try {
      await registerNamespace(connection, namespace, options.retentionDays ?? 30);
      const { added } = await ensureSearchAttributes(connection, namespace);
      if (added.length) say(`registered ${added.join(', ')} in ${namespace}`);
      await waitForSearchAttributes(connection, namespace, () => exitedHow);
    } finally {
      await connection.close();
    }
    let uiUrl: string | undefined;
    if (uiBin && options.uiPort !== false) {
      const uiIp = options.uiIp ?? ip;
      const uiPort = options.uiPort ?? 8233;
      const uiEnv = {
        ...process.env,
        SHAREMOUNT_UI_TEMPORAL_ADDRESS: address,
        SHAREMOUNT_UI_IP: uiIp,
        SHAREMOUNT_UI_PORT: String(uiPort),
        SHAREMOUNT_UI_TLS_CA: options.tls?.caFile ?? '',
        SHAREMOUNT_UI_TLS_CERT: options.tls?.certFile ?? '',
        SHAREMOUNT_UI_TLS_KEY: options.tls?.keyFile ?? '',
        SHAREMOUNT_UI_TLS_SERVER_NAME: options.tls?.serverName ?? '',
      };
      const ui = spawn(uiBin, ['--root', DEPLOY_DIR, '--config', 'ui', '--env', CONFIG_ENV, 'start'], { env: uiEnv, stdio });
      children.push(ui);
      uiUrl = `http://${uiIp === '0.0.0.0' ? '127.0.0.1' : uiIp}:${uiPort}`;
      await waitForUi(uiUrl, ui);
    }
    if (typeof output === 'number') fs.closeSync(output);
    return { address, uiUrl, process: child, exited, stop };
  } catch (error) {
    await stop();
    if (typeof output === 'number') fs.closeSync(output);
    throw error;
  }
}

async function waitForFrontend(address: string, tls: ServerTls | undefined, exited: () => string | undefined): Promise<Connection> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const how = exited();
    if (how) throw new Error(`the Temporal server ${how} before it answered at ${address} (its log says why)`);
    try {
      const connection = await Connection.connect({ address, tls: connectionTls(tls), connectTimeout: 2000 });
      try {
        await connection.healthService.check({});
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the Temporal server did not answer at ${address} within 120 s: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** A UI that cannot start (a bad template, a taken port) fails the start instead of leaving a dead link. */
async function waitForUi(url: string, ui: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (ui.exitCode !== null || ui.signalCode !== null) throw new Error(`the Web UI server exited with ${ui.signalCode ?? ui.exitCode} (its log says why)`);
    const answered = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`the Web UI did not answer at ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const ALREADY_EXISTS = 6;

async function registerNamespace(connection: Connection, namespace: string, retentionDays: number): Promise<void> {
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(retentionDays * 86_400_000) });
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}

/**
 * Ready means what a client needs: the namespace (cached by the frontend, refreshed every few seconds) and a
 * visibility query on a sharemount search attribute both answer.
 */
async function waitForSearchAttributes(connection: Connection, namespace: string, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1, query: `ShareMountVolume = 'readiness-probe'` });
      return;
    } catch (error) {
      const how = exited();
      if (how) throw new Error(`the Temporal server ${how} while namespace ${namespace} was being set up`);
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} was not ready within 60 s: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
