/**
 * The per-mount `idmap=` value the idmap strategy writes (pve-container 6.1.6): it maps the owner's container
 * ids to the one disk owner, and leaves every other id to lxc.idmap. It must pass what pve-container checks
 * before it mounts: the `idmap` pattern of `$rootfs_desc` (src/PVE/LXC/Config.pm), `validate_id_maps` on the
 * entries, and, at mount time, a disk-to-host map the kernel takes, which `resolve_mountpoint_idmap`
 * (src/PVE/LXC.pm) builds from the entries and lxc.idmap: no disk id may stand for two host ids.
 */
import type { IdRange, IdMap } from './idmap';
import { IDMAP_PATTERN } from './mountPointFormat';
import type { Ids } from './volume';

/** `u:<ct uid>:<disk uid>:1;g:<ct gid>:<disk gid>:1`, checked against pve-container's own pattern. */
export function idmapValue(containerIds: Ids, disk: Ids): string {
  const value = `u:${containerIds.uid}:${disk.uid}:1;g:${containerIds.gid}:${disk.gid}:1`;
  if (!IDMAP_PATTERN.test(value)) throw new Error(`idmap value ${JSON.stringify(value)} does not match pve-container's idmap pattern`);
  return value;
}

interface Exception {
  containerStart: number;
  diskStart: number;
  count: number;
}

/** resolve_mountpoint_idmap for one kind: [disk start, host start, count] of each piece. */
function diskToHost(ranges: IdRange[], exceptions: Exception[]): Array<[number, number, number]> {
  const result: Array<[number, number, number]> = [];
  const sorted = [...exceptions].sort((a, b) => a.containerStart - b.containerStart);
  for (const chunk of ranges) {
    const end = chunk.containerStart + chunk.count;
    const inChunk = sorted.filter((e) => e.containerStart < end && e.containerStart + e.count > chunk.containerStart);
    let ct = chunk.containerStart;
    for (const e of [...inChunk, { containerStart: end, diskStart: 0, count: 0 }]) {
      const start = Math.max(e.containerStart, chunk.containerStart);
      const length = Math.min(e.containerStart + e.count, end) - start;
      // Ids no exception holds keep their host id as disk id.
      if (ct < start) result.push([chunk.hostStart + (ct - chunk.containerStart), chunk.hostStart + (ct - chunk.containerStart), start - ct]);
      if (length > 0) result.push([e.diskStart + (start - e.containerStart), chunk.hostStart + (start - chunk.containerStart), length]);
      ct = start + Math.max(length, 0);
    }
  }
  return result;
}

/**
 * Why the kernel would refuse the mount's map (two pieces claim one disk id), or undefined. `value` is an
 * idmapValue; `map` the container's lxc.idmap.
 */
export function idmapValueProblem(map: IdMap, value: string): string | undefined {
  for (const kind of ['u', 'g'] as const) {
    const exceptions = value
      .split(';')
      .map((entry) => entry.split(':'))
      .filter(([k]) => k === kind)
      .map(([, ct, disk, count]) => ({ containerStart: Number(ct), diskStart: Number(disk), count: Number(count) }));
    const pieces = diskToHost(kind === 'u' ? map.uid : map.gid, exceptions).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < pieces.length; i++) {
      if (pieces[i - 1][0] + pieces[i - 1][2] > pieces[i][0]) {
        return `disk ${kind}id ${pieces[i][0]} would stand for two host ids (the container already maps another id to it), so the kernel refuses the idmapped mount: choose another disk_owner`;
      }
    }
  }
  return undefined;
}
