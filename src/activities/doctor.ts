import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostFacts } from '../domain/doctor';
import { walkEngineChoice } from '../host/walk';

export interface DoctorDeps {
  /** PATH to look tools up in; the worker's own by default. */
  searchPath?: string;
  /** The pct command configured for this worker (`--pct`). */
  pct?: string;
  /** Where Proxmox keeps container configs (`--pve-dir`). */
  pveDir?: string;
  /** Resolves the AWS region and credential source through the standard chain. */
  awsIdentity: () => Promise<{ region?: string; credentialsSource?: string; problem?: string }>;
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

export function createDoctorActivities(deps: DoctorDeps) {
  return {
    /** Reads what this worker's host offers; changes nothing. */
    async inspectHost(): Promise<HostFacts> {
      const find = (command: string) => findOnPath(command, deps.searchPath);
      return {
        hostname: os.hostname(),
        kernelRelease: os.release(),
        tools: {
          pct: find(deps.pct ?? 'pct'),
          newuidmap: find('newuidmap'),
          newgidmap: find('newgidmap'),
          mountEfs: find('mount.efs'),
        },
        aws: await deps.awsIdentity(),
        walk: walkEngineChoice(),
      };
    },
  };
}
