/**
 * Reads a Proxmox container config the way pve-container's `PVE::LXC::Config::parse_pct_config` does. The main
 * section holds the current values; `[pve:pending]` the changes Proxmox applies at the next restart (and
 * `delete:`, the keys it will remove); any other `[name]` header (`[pending]` included) starts a snapshot, whose
 * values are history, not the container's. What Proxmox only warns about is a warning here too, with the file
 * and line: this parser refuses nothing Proxmox accepts.
 */
import { lxcKeyVerdict } from './lxcKeys';
import { parseMountPointValue, type ParsedMountPoint } from './mountPointFormat';

export type IdKind = 'u' | 'g';

export interface IdmapLine {
  kind: IdKind;
  containerStart: number;
  hostStart: number;
  count: number;
  /** 1-based line in the file, for error messages. */
  line: number;
}

export interface ConfigWarning {
  file: string;
  line: number;
  problem: string;
}

export interface MountPointEntry {
  slot: number;
  line: number;
  /** The value as written. */
  raw: string;
  /** Absent when Proxmox cannot parse the value: then it mounts nothing, though the key still holds the slot. */
  parsed?: ParsedMountPoint;
  /** Why Proxmox cannot parse it (pve-common's own words). */
  problem?: string;
}

export interface ContainerConfig {
  file: string;
  unprivileged: boolean;
  /** `protection: 1`: pct refuses to change any mount point. */
  protection: boolean;
  /** `lock: <what>`: pct refuses every change until it is cleared. */
  lock?: string;
  idmap: IdmapLine[];
  /** lxc.idmap values parse_id_maps cannot read: the container cannot start, and its root has no host id. */
  idmapProblems: ConfigWarning[];
  /** mp0..mp255 of the main section, by slot (a key written twice: the last one, as Proxmox keeps it). */
  mountPoints: MountPointEntry[];
  /** mpN entries waiting in `[pve:pending]` for a restart. */
  pendingMountPoints: MountPointEntry[];
  /** Keys listed by `delete:` in `[pve:pending]`, e.g. `mp3`. */
  pendingDeletes: string[];
  warnings: ConfigWarning[];
}

/** Thrown only for what Proxmox itself dies on (a file name it does not take); everything else is a warning. */
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

// parse_pct_config's line patterns, in the order it tries them.
const PENDING_HEADER = /^\[pve:pending\]\s*$/i;
const SNAPSHOT_HEADER = /^\[([a-z][a-z0-9_-]+)\]\s*$/i;
const LXC_LINE = /^(lxc\.[a-z0-9_.-]+)(:|\s*=)\s*(.*?)\s*$/;
const DELETE_LINE = /^delete:\s*(.*\S)\s*$/;
const KEY_LINE = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/;
const ID_MAP_LINE = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;
const U32 = 2 ** 32;

/** pve-container's `$confdesc` keys (`check_type` warns "unknown setting" for any other). */
const KNOWN_KEYS = new Set(
  'lock onboot startup template arch ostype console tty cores cpulimit cpuunits memory swap hostname description searchdomain nameserver timezone rootfs parent snaptime cmode entrypoint protection unprivileged features env hookscript tags debug'.split(
    ' ',
  ),
);
const INDEXED_KEYS: Array<[RegExp, number]> = [
  [/^net(\d+)$/, 31],
  [/^mp(\d+)$/, MAX_MOUNT_POINT_SLOT],
  [/^unused(\d+)$/, 255],
  [/^dev(\d+)$/, 255],
];
const BOOLEAN_KEYS = new Set(['onboot', 'template', 'console', 'protection', 'unprivileged', 'debug']);

function knownKey(key: string): boolean {
  if (KNOWN_KEYS.has(key)) return true;
  return INDEXED_KEYS.some(([re, max]) => {
    const n = re.exec(key)?.[1];
    return n !== undefined && String(Number(n)) === n && Number(n) <= max;
  });
}

/**
 * `check_type` for a boolean: 1/on/yes/true and 0/off/no/false (any case). Anything else is warned about and
 * kept as written, which Perl then reads as true unless it is "" or "0".
 */
function configBoolean(value: string): { value: boolean; valid: boolean } {
  if (value === '1' || /^(on|yes|true)$/i.test(value)) return { value: true, valid: true };
  if (value === '0' || /^(off|no|false)$/i.test(value)) return { value: false, valid: true };
  return { value: value !== '' && value !== '0', valid: false };
}

interface SectionValues {
  mountPoints: Map<number, MountPointEntry>;
}

export function parseContainerConfig(text: string, file: string): ContainerConfig {
  const config: ContainerConfig = {
    file,
    unprivileged: false,
    protection: false,
    idmap: [],
    idmapProblems: [],
    mountPoints: [],
    pendingMountPoints: [],
    pendingDeletes: [],
    warnings: [],
  };
  const main: SectionValues = { mountPoints: new Map() };
  const pending: SectionValues = { mountPoints: new Map() };
  let section: 'main' | 'pending' | 'snapshot' = 'main';
  const warn = (line: number, problem: string) => config.warnings.push({ file, line, problem });
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = lines[index];
    if (/^\s*$/.test(line)) continue;
    if (PENDING_HEADER.test(line)) {
      section = 'pending';
      continue;
    }
    if (SNAPSHOT_HEADER.test(line)) {
      section = 'snapshot';
      continue;
    }
    // Only at column 0: an indented "#" is not a comment to Proxmox.
    if (line.startsWith('#')) continue;
    const lxc = LXC_LINE.exec(line);
    if (lxc) {
      const [, key, , value] = lxc;
      const verdict = lxcKeyVerdict(key, line);
      if (verdict.warning) warn(lineNo, verdict.warning);
      // parse_id_maps reads only lxc.idmap, of the main section.
      if (key === 'lxc.idmap' && section === 'main') readIdmap(config, lineNo, value);
      continue;
    }
    if (/^(description):\s*(.*\S)\s*$/.test(line) || /snapstate:\s*(prepare|delete)\s*$/.test(line)) continue;
    const del = DELETE_LINE.exec(line);
    if (del) {
      if (section === 'pending') config.pendingDeletes = parsePendingDelete(del[1]);
      else warn(lineNo, "property 'delete' is only allowed in [pve:pending]");
      continue;
    }
    const kv = KEY_LINE.exec(line);
    if (!kv) {
      warn(lineNo, `unable to parse config: ${line}`);
      continue;
    }
    const [, key, value] = kv;
    if (!knownKey(key)) {
      warn(lineNo, `unknown setting '${key}'${/^mp\d+$/.test(key) ? ` (mount points end at mp${MAX_MOUNT_POINT_SLOT}; Proxmox ignores it)` : ''}`);
      continue;
    }
    if (section === 'snapshot') continue;
    const mountKey = /^mp(\d+)$/.exec(key);
    if (mountKey) {
      const slot = Number(mountKey[1]);
      const parse = parseMountPointValue(value);
      const entry: MountPointEntry = parse.ok
        ? { slot, line: lineNo, raw: value, parsed: parse.mount }
        : { slot, line: lineNo, raw: value, problem: parse.problem };
      if (!parse.ok) warn(lineNo, `unable to parse value of '${key}' - ${parse.problem}; Proxmox does not mount it`);
      (section === 'main' ? main : pending).mountPoints.set(slot, entry);
      continue;
    }
    if (section !== 'main') continue;
    if (BOOLEAN_KEYS.has(key)) {
      const b = configBoolean(value);
      if (!b.valid) warn(lineNo, `unable to parse value of '${key}' - type check ('boolean') failed - got '${value}'`);
      if (key === 'unprivileged') config.unprivileged = b.value;
      if (key === 'protection') config.protection = b.value;
    } else if (key === 'lock') config.lock = value;
  }
  config.mountPoints = [...main.mountPoints.values()].sort((a, b) => a.slot - b.slot);
  config.pendingMountPoints = [...pending.mountPoints.values()].sort((a, b) => a.slot - b.slot);
  return config;
}

/** parse_id_maps: `u|g <ct> <host> <count>`; anything else makes the container fail to start. */
function readIdmap(config: ContainerConfig, line: number, value: string): void {
  const m = ID_MAP_LINE.exec(value);
  if (!m) {
    config.idmapProblems.push({ file: config.file, line, problem: `failed to parse idmap: ${value}` });
    return;
  }
  const [containerStart, hostStart, count] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (count < 1 || containerStart + count > U32 || hostStart + count > U32) {
    config.idmapProblems.push({
      file: config.file,
      line,
      problem: `lxc.idmap range ${JSON.stringify(value)} is empty or goes past 2^32; the kernel refuses it`,
    });
    return;
  }
  config.idmap.push({ kind: m[1] as IdKind, containerStart, hostStart, count, line });
}

/** PVE::AbstractConfig::parse_pending_delete: separated by , ; or spaces; a leading ! means force. */
function parsePendingDelete(value: string): string[] {
  return value
    .replace(/[,;]/g, ' ')
    .trim()
    .split(/\s+/)
    .map((entry) => entry.replace(/^!/, ''))
    .filter(Boolean);
}
