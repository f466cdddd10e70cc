import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostFacts, VolumePathFacts } from '../domain/doctor';
import { proxmoxNode } from './proxmox/node';
import type { AwsIdentity } from './aws/identity';
import { walkEngineChoice } from './walk';

export interface HostFactsOptions {
  /** PATH to look tools up in; this process's own by default. */
  searchPath?: string;
  /** The pct command configured for this worker (`--pct`). */
  pct?: string;
  /** pve-container's version as named by `--pve-container-version`; else dpkg is asked. */
  pveContainerVersion?: string;
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
/** Each volume path's filesystem, by statfs (idmapped mounts need one that allows them). */
function volumePathFacts(hostPaths: string[]): VolumePathFacts[] {
  return hostPaths.map((hostPath) => {
    try {
      return { path: hostPath, fsType: fs.statfsSync(hostPath).type };
    } catch (error) {
      return { path: hostPath, problem: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message };
    }
  });
}

export async function readHostFacts(options: HostFactsOptions, hostPaths: string[] = []): Promise<HostFacts> {
  const find = (command: string) => findOnPath(command, options.searchPath);
  return {
    pveContainer: await proxmoxNode({ pveContainerVersion: options.pveContainerVersion }).pveContainerVersion(),
    volumePaths: volumePathFacts(hostPaths),
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
