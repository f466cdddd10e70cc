/**
 * Reads a Proxmox container config (`/etc/pve/lxc/<ctid>.conf`). Only what sharemount decides on:
 * `unprivileged`, the uid/gid maps and the `mpN` mount points. The main section holds the current values;
 * `[pve:pending]` (the header Proxmox writes) holds changes it applies at the next restart; any other
 * `[name]`, `[pending]` included, is a snapshot and is ignored (its mount points are history, not the
 * container's).
 */

export type IdKind = 'u' | 'g';

export interface IdmapLine {
  kind: IdKind;
  containerStart: number;
  hostStart: number;
  count: number;
  /** 1-based line in the file, for error messages. */
  line: number;
}

export interface MountPointEntry {
  slot: number;
  /** A host path for a bind mount (starts with /), otherwise a storage volume such as `local-lvm:vm-100-disk-1`. */
  volume: string;
  containerPath: string;
  /** The other options (`backup=0`, `ro=1`, …) as written. */
  options: Record<string, string>;
  line: number;
}

export interface ContainerConfig {
  file: string;
  unprivileged: boolean;
  idmap: IdmapLine[];
  mountPoints: MountPointEntry[];
  /** mpN entries waiting in `[pve:pending]` for a restart. */
  pendingMountPoints: MountPointEntry[];
  /** Keys listed by `delete:` in `[pve:pending]`, e.g. `mp3`. */
  pendingDeletes: string[];
}

export class ContainerConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'ContainerConfigError';
  }
}

export const MAX_MOUNT_POINT_SLOT = 255;
/** The section name Proxmox's LXC config writer uses for pending changes (a plain `[pending]` is a snapshot). */
export const PENDING_SECTION = 'pve:pending';
const KEY_VALUE = /^([A-Za-z0-9_.-]+)\s*[:=]\s?(.*)$/;
const MOUNT_KEY = /^mp(\d{1,3})$/;
const U32 = 2 ** 32;

export function parseContainerConfig(text: string, file: string): ContainerConfig {
  const config: ContainerConfig = { file, unprivileged: false, idmap: [], mountPoints: [], pendingMountPoints: [], pendingDeletes: [] };
  let section: 'main' | 'pending' | 'snapshot' = 'main';
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = lines[index].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1].toLowerCase() === PENDING_SECTION ? 'pending' : 'snapshot';
      continue;
    }
    if (section === 'snapshot') continue;
    const match = KEY_VALUE.exec(line);
    if (!match) throw new ContainerConfigError(file, lineNo, `not a "key: value" line: ${JSON.stringify(line)}`);
    const [, key, rawValue] = match;
    const value = rawValue.trim();
    const mountKey = MOUNT_KEY.exec(key);
    if (mountKey) {
      const entry = parseMountPoint(file, lineNo, Number(mountKey[1]), value);
      const list = section === 'main' ? config.mountPoints : config.pendingMountPoints;
      if (list.some((e) => e.slot === entry.slot)) throw new ContainerConfigError(file, lineNo, `mp${entry.slot} appears twice`);
      list.push(entry);
    } else if (section === 'pending') {
      if (key === 'delete') config.pendingDeletes.push(...value.split(/[,;\s]+/).filter(Boolean));
    } else if (key === 'unprivileged') {
      if (value !== '0' && value !== '1') throw new ContainerConfigError(file, lineNo, `unprivileged must be 0 or 1, found ${JSON.stringify(value)}`);
      config.unprivileged = value === '1';
    } else if (key === 'lxc.idmap' || key === 'lxc.id_map') {
      config.idmap.push(parseIdmap(file, lineNo, key, value));
    }
  }
  return config;
}

function parseIdmap(file: string, line: number, key: string, value: string): IdmapLine {
  const parts = value.split(/\s+/);
  const numbers = parts.slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (parts.length !== 4 || (parts[0] !== 'u' && parts[0] !== 'g') || numbers.some((n) => !Number.isSafeInteger(n))) {
    throw new ContainerConfigError(file, line, `${key} must be "u|g <container-start> <host-start> <count>", found ${JSON.stringify(value)}`);
  }
  const [containerStart, hostStart, count] = numbers;
  if (count < 1 || containerStart + count > U32 || hostStart + count > U32) {
    throw new ContainerConfigError(file, line, `${key} range ${JSON.stringify(value)} is empty or goes past 2^32`);
  }
  return { kind: parts[0], containerStart, hostStart, count, line };
}

/** `<volume>,mp=<path>[,key=value…]`; the volume may also be written `volume=<v>`, in any position. */
function parseMountPoint(file: string, line: number, slot: number, value: string): MountPointEntry {
  if (slot > MAX_MOUNT_POINT_SLOT) throw new ContainerConfigError(file, line, `mp${slot} is beyond mp${MAX_MOUNT_POINT_SLOT}`);
  let volume: string | undefined;
  let containerPath: string | undefined;
  const options: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const [k, v] = eq < 0 ? ['volume', part] : [part.slice(0, eq), part.slice(eq + 1)];
    if (k === 'volume') {
      if (volume !== undefined) throw new ContainerConfigError(file, line, `mp${slot} names its volume twice`);
      volume = v;
    } else if (k === 'mp') containerPath = v;
    else options[k] = v;
  }
  if (!volume || !containerPath) {
    throw new ContainerConfigError(file, line, `mp${slot} must be "<volume>,mp=<container path>[,…]", found ${JSON.stringify(value)}`);
  }
  return { slot, volume, containerPath, options, line };
}
