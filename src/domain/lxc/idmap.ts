import type { ContainerConfig, IdKind, IdmapLine } from './containerConfig';
import type { MountIdmapEntry, ParsedMountPoint } from './mountPointFormat';

/**
 * How a container's ids appear on the host. A container id maps to `hostStart + (id - containerStart)` in
 * the one range that holds it; an id no range holds is unmapped (it shows as nobody inside, and nothing may
 * be chowned to a guess of it).
 */
export interface IdRange {
  containerStart: number;
  hostStart: number;
  count: number;
}

export interface IdMap {
  uid: IdRange[];
  gid: IdRange[];
  /** Where the map came from, for plans and errors. */
  source: 'lxc.idmap' | 'proxmox-default' | 'privileged-identity';
}

/** What Proxmox uses for an unprivileged container without lxc.idmap lines; it never writes it to the file. */
export const PROXMOX_DEFAULT_RANGE: IdRange = { containerStart: 0, hostStart: 100000, count: 65536 };
const IDENTITY_RANGE: IdRange = { containerStart: 0, hostStart: 0, count: 2 ** 32 - 1 };

export class IdmapError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'IdmapError';
  }
}

/** PVE::LXC::parse_id_maps: lxc.idmap lines only; none and unprivileged means Proxmox's default range. */
export function idMapOf(config: ContainerConfig): IdMap {
  if (config.idmapProblems.length) {
    const [first] = config.idmapProblems;
    throw new IdmapError(config.file, `line ${first.line}: ${first.problem}; the container cannot start and its root has no host id`);
  }
  if (config.idmap.length === 0) {
    return config.unprivileged
      ? { uid: [PROXMOX_DEFAULT_RANGE], gid: [PROXMOX_DEFAULT_RANGE], source: 'proxmox-default' }
      : { uid: [IDENTITY_RANGE], gid: [IDENTITY_RANGE], source: 'privileged-identity' };
  }
  return { uid: rangesOf(config, 'u'), gid: rangesOf(config, 'g'), source: 'lxc.idmap' };
}

function rangesOf(config: ContainerConfig, kind: IdKind): IdRange[] {
  const lines = config.idmap.filter((l) => l.kind === kind).sort((a, b) => a.containerStart - b.containerStart);
  // The kernel refuses a map whose ranges overlap on either side, so such a config is broken, not ambiguous.
  checkNoOverlap(config.file, lines, 'containerStart', 'container');
  checkNoOverlap(
    config.file,
    [...lines].sort((a, b) => a.hostStart - b.hostStart),
    'hostStart',
    'host',
  );
  return lines.map(({ containerStart, hostStart, count }) => ({ containerStart, hostStart, count }));
}

function checkNoOverlap(file: string, sorted: IdmapLine[], start: 'containerStart' | 'hostStart', side: string): void {
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a[start] + a.count > b[start]) {
      throw new IdmapError(file, `${b.kind}-ranges on lines ${a.line} and ${b.line} overlap on the ${side} side; the kernel would refuse this map`);
    }
  }
}

/** The host id of container id `id`, or undefined when no range holds it. */
export function mapId(ranges: IdRange[], id: number): number | undefined {
  const range = ranges.find((r) => id >= r.containerStart && id < r.containerStart + r.count);
  return range && range.hostStart + (id - range.containerStart);
}

/** Container root as the host sees it; an unmapped root uid or gid is an error, never a guess. */
export function mappedRoot(map: IdMap, file: string): { uid: number; gid: number } {
  const uid = mapId(map.uid, 0);
  const gid = mapId(map.gid, 0);
  if (uid === undefined || gid === undefined) {
    const which = [uid === undefined && 'uid 0', gid === undefined && 'gid 0'].filter(Boolean).join(' and ');
    throw new IdmapError(file, `container ${which} is outside every lxc.idmap range, so container root has no host id to own files as`);
  }
  return { uid, gid };
}

/** How container root writes through one mount: the disk ids its files get, and why. */
export interface MountRoot {
  uid: number;
  gid: number;
  /** lxc.idmap (no per-mount idmap, or a privileged container, which ignores it), passthrough, or the mount's ranges. */
  through: 'container' | 'passthrough' | 'mount-idmap';
  /** Said in the plan: e.g. a privileged container ignores the option. */
  note?: string;
}

/**
 * The disk ids container root writes as through a mount, following PVE::LXC::resolve_mountpoint_idmap: the
 * mount's listed ranges map container ids to disk ids, every id they leave out goes through lxc.idmap as
 * usual (an identity disk = host id), and `passthrough` makes disk ids equal container ids. A privileged
 * container (no id map at all) ignores the option (mountpoint_hotplug and mountpoint_mount warn).
 */
export function mountRoot(map: IdMap, root: { uid: number; gid: number }, mount: Pick<ParsedMountPoint, 'idmap'> | undefined, file: string): MountRoot {
  const idmap = mount?.idmap;
  if (idmap === undefined) return { ...root, through: 'container' };
  if (map.source === 'privileged-identity') {
    return { ...root, through: 'container', note: "a privileged container ignores the mount's idmap option" };
  }
  if (idmap === 'passthrough') return { uid: 0, gid: 0, through: 'passthrough' };
  checkMountIdmap(idmap, file);
  const diskOfRoot = (kind: IdKind, host: number) => {
    const range = idmap.find((e) => e.kind === kind && e.containerStart === 0);
    return range ? range.diskStart : host;
  };
  return { uid: diskOfRoot('u', root.uid), gid: diskOfRoot('g', root.gid), through: 'mount-idmap' };
}

/** validate_id_maps on the mount's ranges: an overlap makes Proxmox refuse to mount it. */
function checkMountIdmap(entries: MountIdmapEntry[], file: string): void {
  for (const kind of ['u', 'g'] as const) {
    for (const [start, side] of [
      ['containerStart', 'container'],
      ['diskStart', 'disk'],
    ] as const) {
      const sorted = entries.filter((e) => e.kind === kind).sort((a, b) => a[start] - b[start]);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i - 1][start] + sorted[i - 1].count > sorted[i][start]) {
          throw new IdmapError(file, `the mount's idmap maps ${side} ${kind}id ${sorted[i][start]} twice; Proxmox refuses to mount it`);
        }
      }
    }
  }
}

/** Container ids as the host sees them through lxc.idmap; an unmapped one is an error naming the file and its map. */
export function hostIdsOf(map: IdMap, ids: { uid: number; gid: number }, file: string): { uid: number; gid: number } {
  const uid = mapId(map.uid, ids.uid);
  const gid = mapId(map.gid, ids.gid);
  if (uid === undefined || gid === undefined) {
    const which = [uid === undefined && `uid ${ids.uid}`, gid === undefined && `gid ${ids.gid}`].filter(Boolean).join(' and ');
    const ranges = (kind: 'u' | 'g', ranges: IdRange[]) => ranges.map((r) => `${kind} ${r.containerStart} ${r.hostStart} ${r.count}`);
    const where =
      map.source === 'lxc.idmap'
        ? `its lxc.idmap lines (${[...ranges('u', map.uid), ...ranges('g', map.gid)].join(', ')})`
        : `Proxmox's default map (u/g 0 100000 65536)`;
    throw new IdmapError(file, `container ${which} is outside ${where}: add a range for it to lxc.idmap, or name an owner the container maps`);
  }
  return { uid, gid };
}

/**
 * The disk ids that container ids write as through a mount, as resolve_mountpoint_idmap maps them: an id a listed
 * range holds gets its disk id, `passthrough` keeps container ids, any other id goes through lxc.idmap.
 */
export function diskIdsThrough(map: IdMap, ids: { uid: number; gid: number }, mount: Pick<ParsedMountPoint, 'idmap'> | undefined, file: string) {
  const host = hostIdsOf(map, ids, file);
  const idmap = mount?.idmap;
  if (idmap === undefined || map.source === 'privileged-identity') return host;
  if (idmap === 'passthrough') return { ...ids };
  checkMountIdmap(idmap, file);
  const disk = (kind: IdKind, id: number, fallback: number) => {
    const range = idmap.find((e) => e.kind === kind && id >= e.containerStart && id < e.containerStart + e.count);
    return range ? range.diskStart + (id - range.containerStart) : fallback;
  };
  return { uid: disk('u', ids.uid, host.uid), gid: disk('g', ids.gid, host.gid) };
}
