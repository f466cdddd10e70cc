/**
 * The test oracle's own reading of a container's ids, as pve-container 6.1.6 reads them at container start, kept
 * apart from the planner (src/domain/lxc) on purpose: the kernel test derives the namespaces' maps from these
 * functions, so a value the planner writes is checked against what Proxmox would do with it, not against the
 * planner's own reading of it. Test support only; nothing in src/ may import it.
 *
 * An entry is [type, from, to, count]: for lxc.idmap from = container id, to = host id; for a mount's idmap=
 * from = container id, to = disk id; for the map the mount's user namespace gets from = disk id, to = host id.
 */

export type IdType = 'u' | 'g';
export type OracleEntry = readonly [type: IdType, from: number, to: number, count: number];

/** Proxmox's implicit map for an unprivileged container without lxc.idmap lines (PVE::LXC::parse_id_maps). */
const DEFAULT_UNPRIVILEGED: readonly OracleEntry[] = [
  ['u', 0, 100000, 65536],
  ['g', 0, 100000, 65536],
];

/**
 * PVE::LXC::parse_id_maps, oracle's reading: every `lxc.idmap: u|g CT HOST LEN` line of a container's conf, in
 * order; none in an unprivileged container means the default range.
 */
export function lxcIdmapAsPveReadsIt(conf: string): OracleEntry[] {
  const entries: OracleEntry[] = [];
  for (const line of conf.split('\n')) {
    const value = /^lxc\.idmap\s*[:=]\s*(.*)$/.exec(line)?.[1];
    if (value === undefined) continue;
    const m = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(value);
    if (!m) throw new Error(`oracle: pve-container cannot parse lxc.idmap "${value}" (failed to parse idmap)`);
    entries.push([m[1] as IdType, Number(m[2]), Number(m[3]), Number(m[4])]);
  }
  if (entries.length === 0 && /^unprivileged:\s*1\s*$/m.test(conf)) return [...DEFAULT_UNPRIVILEGED];
  return entries;
}

/** The `idmap` property's pattern in PVE::LXC::Config's mount point format ($rootfs_desc). */
const MOUNT_IDMAP_PATTERN = /^(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)$/;

/** PVE::LXC::Config::parse_volume, oracle's reading of `idmap=`: `passthrough`, or its `u|g:CT:DISK:LEN` entries. */
export function mountIdmapAsPveReadsIt(value: string): 'passthrough' | OracleEntry[] {
  if (!MOUNT_IDMAP_PATTERN.test(value)) throw new Error(`oracle: idmap=${value} fails pve-container's format check`);
  if (value === 'passthrough') return 'passthrough';
  return value.split(';').map((entry) => {
    const [type, ct, disk, count] = entry.split(':');
    return [type as IdType, Number(ct), Number(disk), Number(count)] as const;
  });
}

/**
 * PVE::LXC::resolve_mountpoint_idmap, oracle's reading: the map of the user namespace that the mount is
 * idmapped with, disk id → host id. Within each lxc.idmap chunk, the mount's listed container ids map their
 * disk ids to the host ids the chunk gives those container ids; every other container id of the chunk keeps
 * its host id on disk (identity). `passthrough` is the container's own map.
 */
export function mountUsernsMapAsPveResolvesIt(lxcIdmap: readonly OracleEntry[], mountIdmap: 'passthrough' | readonly OracleEntry[]): OracleEntry[] {
  if (mountIdmap === 'passthrough') return [...lxcIdmap];
  const result: OracleEntry[] = [];
  for (const type of ['u', 'g'] as const) {
    const listed = mountIdmap.filter((e) => e[0] === type).sort((a, b) => a[1] - b[1]);
    for (const [, ctStart, hostStart, count] of lxcIdmap.filter((e) => e[0] === type)) {
      const ctEnd = ctStart + count;
      const inChunk = listed.filter(([, ct, , n]) => ct < ctEnd && ct + n > ctStart);
      let ct = ctStart;
      for (const [, listedCt, listedDisk, listedCount] of [...inChunk, [type, ctEnd, 0, 0] as const]) {
        const from = Math.max(listedCt, ctStart);
        const length = Math.min(listedCt + listedCount, ctEnd) - from;
        if (ct < from) result.push([type, hostStart + ct - ctStart, hostStart + ct - ctStart, from - ct]);
        if (length > 0) result.push([type, listedDisk + from - listedCt, hostStart + from - ctStart, length]);
        ct = from + length;
      }
    }
  }
  return result;
}

/** Entries as the helper's MAP argument (one uid_map/gid_map line each: inside, outside, count). */
export function helperMap(entries: readonly OracleEntry[]): string {
  return entries.map((e) => e.join(':')).join(';');
}
