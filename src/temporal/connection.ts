import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ConnectionOptions } from '@temporalio/client';
import { GENERAL_TASK_QUEUE } from '../domain/taskQueues';

/**
 * Where sharemount finds Temporal, in the usual Temporal environment conventions. With no TEMPORAL_ADDRESS
 * the CLI uses the embedded default: a local dev server it starts itself (see embedded.ts).
 */
export interface TemporalSettings {
  address?: string;
  namespace: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const read = (name: string) => (env[name] ? fs.readFileSync(env[name]!) : undefined);
  const cert = read('TEMPORAL_TLS_CLIENT_CERT_PATH');
  const key = read('TEMPORAL_TLS_CLIENT_KEY_PATH');
  const ca = read('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  const tlsWanted = env.TEMPORAL_TLS === 'true' || Boolean(cert || ca || env.TEMPORAL_API_KEY);
  return {
    address: env.TEMPORAL_ADDRESS || undefined,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    apiKey: env.TEMPORAL_API_KEY || undefined,
    tls: tlsWanted
      ? {
          serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
          serverRootCACertificate: ca,
          clientCertPair: cert && key ? { crt: cert, key } : undefined,
        }
      : undefined,
  };
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
