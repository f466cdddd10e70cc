/**
 * A mount point value (`mpN: <volume>,mp=<path>[,option=value…]`) read the way Proxmox reads it: pve-common's
 * `PVE::JSONSchema::parse_property_string` against pve-container's `$mp_desc` (src/PVE/LXC/Config.pm), then
 * `parse_ct_mountpoint_full` and `classify_mountpoint`. A value Proxmox cannot parse is not mounted at all
 * (`foreach_volume_full` parses with `noerr` and skips it), so it is reported, never treated as a mount.
 */

/** `classify_mountpoint`: `/dev/…` a device, another absolute path a bind mount, anything else a storage volume. */
export type MountPointType = 'bind' | 'volume' | 'device';

export interface MountIdmapEntry {
  kind: 'u' | 'g';
  containerStart: number;
  diskStart: number;
  count: number;
}

export interface ParsedMountPoint {
  volume: string;
  containerPath: string;
  type: MountPointType;
  /** `ro=1`: Proxmox mounts it read-only. */
  ro: boolean;
  /** Per-mount idmap (pve-container 6.1.6): absent, `passthrough`, or the listed ranges. */
  idmap?: 'passthrough' | MountIdmapEntry[];
  /** Every option but the volume and mp, booleans as Proxmox stores them (0 or 1). */
  options: Record<string, string>;
}

type OptionKind = 'boolean' | 'string';
/** `$mp_desc`: `$rootfs_desc` plus backup, mp and keepattrs; `volume` is the default key. */
const MP_OPTIONS: Record<string, OptionKind> = {
  volume: 'string',
  mp: 'string',
  size: 'string',
  acl: 'boolean',
  mountoptions: 'string',
  idmap: 'string',
  ro: 'boolean',
  quota: 'boolean',
  replicate: 'boolean',
  shared: 'boolean',
  backup: 'boolean',
  keepattrs: 'boolean',
};

/** `$valid_mount_option_re`, anchored as `check_prop` anchors every pattern. */
export const MOUNT_OPTIONS = /^(discard|lazytime|noatime|nodev|noexec|nosuid)(;(discard|lazytime|noatime|nodev|noexec|nosuid))*$/;
/** The `idmap` pattern of `$rootfs_desc`. */
export const IDMAP_PATTERN = /^(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)$/;
/** pve-common `parse_size`, the `disk-size` format. */
const DISK_SIZE = /^(\d+(\.\d+)?)([KMGT](?:iB)?)?$/;

/** pve-common `parse_boolean`: the words a property string accepts for a boolean. */
export function parseBoolean(value: string): '1' | '0' | undefined {
  if (/^(1|on|yes|true)$/i.test(value)) return '1';
  if (/^(0|off|no|false)$/i.test(value)) return '0';
  return undefined;
}

/** pve-container `verify_lxc_mp_string`: no `/./`, `/../`, trailing `/.` or `/..`, leading `../`. */
function mpStringProblem(value: string): string | undefined {
  return /\/\.\.?\//.test(value) || /\/\.\.?$/.test(value) || /^\.\.\//.test(value) ? `${value} contains illegal character sequences` : undefined;
}

export type MountPointParse = { ok: true; mount: ParsedMountPoint } | { ok: false; problem: string };

export function parseMountPointValue(value: string): MountPointParse {
  const res: Record<string, string> = {};
  let bare = false;
  // Perl's split drops trailing empty fields; parse_property_string skips blank parts anywhere.
  for (const part of value.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/s.exec(part);
    if (kv) {
      const [, key] = kv;
      let v = kv[2];
      if (res[key] !== undefined) return { ok: false, problem: `duplicate key in comma-separated list property: ${key}` };
      const kind = MP_OPTIONS[key];
      if (!kind) return { ok: false, problem: `invalid key in comma-separated list property: ${key}` };
      if (kind === 'boolean') v = parseBoolean(v) ?? v;
      res[key] = v;
    } else if (!part.includes('=')) {
      // Perl tests the default key for truth: a volume "0" can be given twice.
      if (bare || (res.volume !== undefined && res.volume !== '' && res.volume !== '0')) {
        return { ok: false, problem: 'duplicate key in comma-separated list property: volume' };
      }
      bare = true;
      res.volume = part;
    } else {
      return { ok: false, problem: 'missing key in comma-separated list property' };
    }
  }
  // check_object: types, formats and required keys.
  const errors: string[] = [];
  for (const key of ['volume', 'mp']) if (res[key] === undefined) errors.push(`${key}: property is missing and it is not optional`);
  for (const [key, v] of Object.entries(res)) {
    if (MP_OPTIONS[key] === 'boolean' && v !== '0' && v !== '1') errors.push(`${key}: type check ('boolean') failed - got '${v}'`);
  }
  for (const key of ['volume', 'mp']) {
    const problem = res[key] === undefined ? undefined : mpStringProblem(res[key]);
    if (problem) errors.push(`${key}: ${problem}`);
  }
  if (res.size !== undefined && !DISK_SIZE.test(res.size)) errors.push(`size: value does not look like a valid disk size: ${res.size}`);
  if (res.mountoptions !== undefined && !MOUNT_OPTIONS.test(res.mountoptions)) errors.push('mountoptions: value does not match the regex pattern');
  if (res.idmap !== undefined && !IDMAP_PATTERN.test(res.idmap)) errors.push('idmap: value does not match the regex pattern');
  if (errors.length) return { ok: false, problem: `format error: ${errors.join('; ')}` };

  const { volume, mp, ...options } = res;
  const mount: ParsedMountPoint = { volume, containerPath: mp, type: classifyMountPoint(volume), ro: res.ro === '1', options };
  if (res.idmap === 'passthrough') mount.idmap = 'passthrough';
  else if (res.idmap !== undefined) {
    mount.idmap = res.idmap.split(';').map((entry) => {
      const [kind, ct, disk, count] = entry.split(':');
      return { kind: kind as 'u' | 'g', containerStart: Number(ct), diskStart: Number(disk), count: Number(count) };
    });
  }
  return { ok: true, mount };
}

export function classifyMountPoint(volume: string): MountPointType {
  if (volume.startsWith('/')) return volume.startsWith('/dev/') ? 'device' : 'bind';
  return 'volume';
}

/**
 * Where an unparseable value seems to mount, for the plan only (Proxmox mounts nothing for it): the first
 * `mp=` part, when there is one.
 */
export function looseContainerPath(value: string): string | undefined {
  return value
    .split(',')
    .map((p) => /^mp=(.+)$/.exec(p.trim())?.[1])
    .find((p) => p !== undefined);
}

/** The first bare part, shown as what an unparseable value names. */
export function looseVolume(value: string): string | undefined {
  return value.split(',').find((p) => p.trim() !== '' && !p.includes('='));
}
