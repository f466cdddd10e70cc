/**
 * What a (scheduled) re-apply found and fixed, in one line per target, from a run's result: on a converged
 * host it says so; after someone changed an owner or an fstab line, it names what was put back.
 */
export interface DriftReport {
  drifted: boolean;
  lines: string[];
}

interface LxcLike {
  volumes: Array<{
    name: string;
    ok: boolean;
    error?: string;
    result?: { ownership: { changed: number; uid: number; gid: number }; mounts: Array<{ ctid: number; changed: boolean; slot: number }> };
  }>;
}

interface EfsLike {
  instances: Array<{ instanceId: string; ok: boolean; changes: string[]; error?: string }>;
}

function isLxc(result: unknown): result is LxcLike {
  return typeof result === 'object' && result !== null && Array.isArray((result as LxcLike).volumes);
}

function isEfs(result: unknown): result is EfsLike {
  return typeof result === 'object' && result !== null && Array.isArray((result as EfsLike).instances);
}

export function driftReport(result: unknown): DriftReport {
  const lines: string[] = [];
  if (isLxc(result)) {
    for (const volume of result.volumes) {
      if (!volume.ok) lines.push(`${volume.name}: failed: ${volume.error ?? 'unknown error'}`);
      const r = volume.result;
      if (!r) continue;
      if (r.ownership.changed) lines.push(`${volume.name}: fixed owner of ${r.ownership.changed} entries → ${r.ownership.uid}:${r.ownership.gid}`);
      for (const mount of r.mounts.filter((m) => m.changed)) lines.push(`${volume.name}: rebound mp${mount.slot} in CT ${mount.ctid}`);
    }
  } else if (isEfs(result)) {
    for (const instance of result.instances) {
      if (!instance.ok) lines.push(`${instance.instanceId}: failed: ${instance.error ?? 'unknown error'}`);
      else if (instance.changes.length) lines.push(`${instance.instanceId}: fixed ${instance.changes.join(', ')}`);
    }
  }
  return { drifted: lines.length > 0, lines: lines.length ? lines : ['converged: no drift found'] };
}
