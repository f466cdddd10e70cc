import * as os from 'node:os';
import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { InputError } from '../domain/errors';
import { GENERAL_TASK_QUEUE } from '../domain/taskQueues';

/**
 * Where sharemount finds Temporal, read the way the Temporal CLI and SDKs read it: the active profile of
 * temporal.toml (TEMPORAL_CONFIG_FILE, else the user's config directory; TEMPORAL_PROFILE, else `default`),
 * then the TEMPORAL_* variables over it. With no address from either, the CLI uses a server on 127.0.0.1:7233
 * or the embedded one (see cli/session.ts).
 */
export interface TemporalSettings {
  address?: string;
  namespace: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

/** From the environment: its TEMPORAL_* variables and the temporal.toml profile they (or HOME) select. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // An empty variable has always meant "not set" here (TEMPORAL_ADDRESS= selects the local server), where
  // envconfig would let it override the profile with an empty value. gRPC metadata keeps its own rule: an
  // empty TEMPORAL_GRPC_META_* removes that header.
  const overrideEnvVars = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && (entry[1] !== '' || entry[0].startsWith('TEMPORAL_GRPC_META_')),
    ),
  );
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars });
  } catch (error) {
    throw new InputError(
      settingBehind(error as NodeJS.ErrnoException, overrideEnvVars),
      `cannot load the Temporal connection settings: ${(error as Error).message}`,
    );
  }
  const { connectionOptions, namespace } = loaded;
  return {
    address: connectionOptions.address || undefined,
    namespace: namespace || 'default',
    apiKey: connectionOptions.apiKey || undefined,
    tls: connectionOptions.tls ?? undefined,
  };
}

/** The variable (or file) the operator must fix for an error envconfig threw. */
function settingBehind(error: NodeJS.ErrnoException, env: Record<string, string>): string {
  // A certificate or key path that cannot be read: the variable holding it, when one does.
  const variable = Object.keys(env).find((name) => name.startsWith('TEMPORAL_') && error.path !== undefined && env[name] === error.path);
  if (variable) return variable;
  if (/^Profile '/.test(error.message)) return 'TEMPORAL_PROFILE';
  return env.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'temporal.toml';
}

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/**
 * The general task queue (EFS, doctor): `sharemount` unless SHAREMOUNT_TASK_QUEUE names another, which keeps
 * environments (or parallel test runs) sharing one cluster from taking each other's work.
 */
export function generalTaskQueue(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.SHAREMOUNT_TASK_QUEUE;
  if (!named) return GENERAL_TASK_QUEUE;
  if (!QUEUE_NAME.test(named)) throw new Error(`SHAREMOUNT_TASK_QUEUE=${JSON.stringify(named)} is not a task queue name: letters, digits and _.:-`);
  return named;
}

/** The default Proxmox node name: the short host name, as Proxmox names its nodes. */
export function defaultNodeName(): string {
  return os.hostname().split('.')[0];
}
