import * as fs from 'node:fs';
import type { HostPathFacts } from '../domain/lxc/hostPaths';

/**
 * Looks at a host path one component at a time from `/`, never following a symlink, for the plan. The walk
 * makes the same check again when it opens the root (what is seen here can change before then); the plan
 * exists so the operator hears about it first, with the component and the path to write instead.
 */
export function inspectHostPath(hostPath: string): HostPathFacts {
  const components = hostPath.split('/').filter(Boolean);
  let prefix = '';
  for (const component of components) {
    prefix = `${prefix}/${component}`;
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(prefix);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        return { path: hostPath, exists: false, isDirectory: false };
      }
      throw error;
    }
    if (stat.isSymbolicLink()) return { path: hostPath, exists: true, isDirectory: false, symlinkComponent: prefix, canonicalPath: canonical(hostPath) };
    if (prefix === `/${components.join('/')}`) {
      const { dev, ino, uid, gid } = stat;
      return { path: hostPath, exists: true, isDirectory: stat.isDirectory(), dev, ino, uid, gid, fsType: fs.statfsSync(prefix).type };
    }
    if (!stat.isDirectory()) return { path: hostPath, exists: false, isDirectory: false };
  }
  return { path: hostPath, exists: false, isDirectory: false };
}

function canonical(hostPath: string): string | undefined {
  try {
    return fs.realpathSync(hostPath);
  } catch {
    return undefined;
  }
}
