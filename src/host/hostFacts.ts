import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostFacts } from '../domain/doctor';
import type { AwsIdentity } from './aws/identity';
import { walkEngineChoice } from './walk';

export interface HostFactsOptions {
  /** PATH to look tools up in; this process's own by default. */
  searchPath?: string;
  /** The pct command configured for this worker (`--pct`). */
  pct?: string;
  /** Resolves the AWS region and credential source through the standard chain. */
  awsIdentity: () => Promise<AwsIdentity>;
}

export function findOnPath(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const dir of searchPath.split(path.delimiter).concat('/sbin', '/usr/sbin')) {
    const candidate = path.join(dir, command);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** What this host offers each backend: its kernel, the tools each needs, the walk engine and the AWS identity. Changes nothing. */
export async function readHostFacts(options: HostFactsOptions): Promise<HostFacts> {
  const find = (command: string) => findOnPath(command, options.searchPath);
  return {
    hostname: os.hostname(),
    kernelRelease: os.release(),
    tools: {
      pct: find(options.pct ?? 'pct'),
      newuidmap: find('newuidmap'),
      newgidmap: find('newgidmap'),
      mountEfs: find('mount.efs'),
    },
    aws: await options.awsIdentity(),
    walk: walkEngineChoice(),
  };
}
