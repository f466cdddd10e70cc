import { MAX_MOUNT_POINT_SLOT, type MountPointEntry } from './containerConfig';
import { looseContainerPath } from './mountPointFormat';
import { validateContainerPath, validateHostPath } from './paths';
import { isCtid, type LxcVolume } from './volume';

/**
 * What a container has at a volume's mount point, decided on whole normalised paths (the seed matched
 * substrings, so /vllm_models "was mounted" when /vllm_models_old was), on what Proxmox itself would mount:
 *
 * - present: a bind of this host path at this container path that Proxmox mounts read-write now;
 * - pending: that bind waits in [pve:pending] until the container restarts (nothing to do but restart);
 * - new: nothing is there; `slot` is the lowest free one;
 * - drift: a bind of another host path is there (`--fix-drift` rebinds it), or this very bind with options
 *   (ro, mountoptions, backup, idmap) other than the config's (`differs` says which; `--fix-drift` rewrites them);
 * - readOnly: this very bind, but `ro=1` (`--fix-drift` rewrites it without ro, keeping its other options);
 * - pendingDelete: this very bind, queued by `delete:` in [pve:pending] (`--fix-drift` sets it again, which
 *   takes it off the queue, as update_pct_config does);
 * - ignored: an mpN whose value Proxmox cannot parse names this path; Proxmox mounts nothing for it
 *   (`--fix-drift` writes a correct value into the slot);
 * - conflict: a storage volume or a device is mounted there: the container's own disk, never replaced.
 */
export type MountState = 'present' | 'pending' | 'new' | 'drift' | 'readOnly' | 'pendingDelete' | 'ignored' | 'conflict';

export type MountDecision = {
  mount: MountState;
  slot: number;
  /** The entry found at the path (every state but new). */
  entry?: MountPointEntry;
  /** drift and conflict: what the slot mounts now. */
  currentHostPath?: string;
  /** The entry found sits in [pve:pending]. */
  pendingUntilRestart?: boolean;
  /** drift of this very bind: each option that is not what the config says, e.g. `ro=0 (config: ro=1)`. */
  differs?: string[];
};

/** The mount point options a volume asks for, as Proxmox stores them (booleans as 0 or 1). */
export type MountWants = Partial<Record<'ro' | 'mountoptions' | 'backup' | 'idmap', string>>;

/**
 * A volume more than one container mounts gets these unless the config names its own mountoptions: a setuid
 * file or a device node one container's root made must not act as another container's root.
 */
export const SHARED_VOLUME_MOUNT_OPTIONS = 'nosuid;nodev';

/** What the config's read_only, mountoptions and backup mean on each of the volume's mount points. */
export function volumeMountWants(volume: Pick<LxcVolume, 'readOnly' | 'mountOptions' | 'backup' | 'mounts'>): MountWants {
  const wants: MountWants = {};
  if (volume.readOnly) wants.ro = '1';
  if (volume.mountOptions !== undefined) wants.mountoptions = volume.mountOptions;
  else if (volume.mounts.length > 1) wants.mountoptions = SHARED_VOLUME_MOUNT_OPTIONS;
  if (volume.backup !== undefined) wants.backup = volume.backup ? '1' : '0';
  return wants;
}

/** Proxmox's value when an option is absent from the entry (both booleans default to off for a mount point). */
const ABSENT_AS: Record<string, string | undefined> = { ro: '0', backup: '0' };

/** mountoptions is a set: LXC passes each one to mount, so order and repeats change nothing. */
function sameOption(key: string, found: string | undefined, wanted: string): boolean {
  if (key !== 'mountoptions') return (found ?? ABSENT_AS[key]) === wanted;
  const set = (v: string | undefined) => [...new Set((v ?? '').split(';').filter(Boolean))].sort().join(';');
  return set(found) === set(wanted);
}

/** Each option the entry has other than the config wants, said for the plan. */
export function optionDifferences(options: Record<string, string>, wants: MountWants): string[] {
  return Object.entries(wants)
    .filter(([key, wanted]) => !sameOption(key, options[key], wanted))
    .map(([key, wanted]) => `${options[key] === undefined ? `no ${key}` : `${key}=${options[key]}`} (config: ${key}=${wanted})`);
}

/** What a rewrite writes: the entry's own options (acl, quota, …) kept, ro dropped unless asked for, then the wants. */
export function optionsToWrite(existing: Record<string, string>, wants: MountWants): Record<string, string> {
  const { ro: _dropped, ...kept } = existing;
  return { ...kept, ...wants };
}

/** The states apply changes only with --fix-drift, and conflict, which it never changes. */
export const LEFT_WITHOUT_FIX: readonly MountState[] = ['drift', 'readOnly', 'pendingDelete', 'ignored'];

export class NoFreeSlotError extends Error {
  constructor(readonly containerPath: string) {
    super(`every mount point slot mp0..mp${MAX_MOUNT_POINT_SLOT} is taken; free one before mounting ${containerPath}`);
    this.name = 'NoFreeSlotError';
  }
}

function at(entries: MountPointEntry[], wantCt: string): MountPointEntry | undefined {
  return (
    entries.find((e) => e.parsed && normalisePath(e.parsed.containerPath) === wantCt) ??
    entries.find((e) => {
      const loose = !e.parsed && looseContainerPath(e.raw);
      return loose !== undefined && loose !== false && normalisePath(loose) === wantCt;
    })
  );
}

function classify(entry: MountPointEntry, wantHost: string, pendingDeletes: string[], pending: boolean, wants: MountWants): MountDecision {
  const base = { slot: entry.slot, entry, ...(pending ? { pendingUntilRestart: true } : {}) };
  const mount = entry.parsed;
  if (!mount) return { mount: 'ignored', ...base };
  if (mount.type !== 'bind') return { mount: 'conflict', ...base, currentHostPath: mount.volume };
  if (normalisePath(mount.volume) !== wantHost) return { mount: 'drift', ...base, currentHostPath: mount.volume };
  if (pendingDeletes.includes(`mp${entry.slot}`)) return { mount: 'pendingDelete', ...base };
  if (mount.ro && wants.ro !== '1') return { mount: 'readOnly', ...base };
  const differs = optionDifferences(mount.options, wants);
  if (differs.length) return { mount: 'drift', ...base, differs };
  return { mount: pending ? 'pending' : 'present', ...base };
}

/**
 * `entries` are the main section's mpN; `pending` those waiting in `[pve:pending]` (a pending entry at the
 * path is what the container gets at its next start, so it decides); `pendingDeletes` the keys queued for
 * deletion; `reserved` are slots this plan already gave to other volumes of the same container; `wants` the
 * options the config asks for. Every key holds its slot, an unparseable one too.
 */
export function decideMountPoint(
  hostPath: string,
  containerPath: string,
  entries: MountPointEntry[],
  pending: MountPointEntry[] = [],
  reserved: number[] = [],
  pendingDeletes: string[] = [],
  wants: MountWants = {},
): MountDecision {
  const wantHost = normalisePath(hostPath);
  const wantCt = normalisePath(containerPath);
  const pendingMatch = at(pending, wantCt);
  if (pendingMatch) return classify(pendingMatch, wantHost, pendingDeletes, true, wants);
  const atPath = at(entries, wantCt);
  if (atPath) return classify(atPath, wantHost, pendingDeletes, false, wants);
  const taken = new Set([...entries, ...pending].map((e) => e.slot).concat(reserved));
  for (let slot = 0; slot <= MAX_MOUNT_POINT_SLOT; slot++) if (!taken.has(slot)) return { mount: 'new', slot };
  throw new NoFreeSlotError(containerPath);
}

/** What each state means for apply, said in the plan's errors (conflict) or by apply when it leaves a mount. */
export function mountStateAdvice(
  decision: Pick<MountDecision, 'mount' | 'slot' | 'currentHostPath' | 'differs'>,
  ctid: number,
  hostPath: string,
  containerPath: string,
): string | undefined {
  const key = `mp${decision.slot}`;
  switch (decision.mount) {
    case 'drift':
      if (decision.differs?.length) {
        return `${key} binds ${hostPath} at ${containerPath} with ${decision.differs.join(', ')}: review \`lxc plan\`, then apply with --fix-drift to rewrite its options`;
      }
      return `${key} binds ${decision.currentHostPath} at ${containerPath}, not ${hostPath}: review \`lxc plan\`, then apply with --fix-drift`;
    case 'readOnly':
      return `${key} binds ${hostPath} at ${containerPath} read-only (ro=1), so nothing in CT ${ctid} can write to it: apply with --fix-drift to rewrite it without ro (its other options kept)`;
    case 'pendingDelete':
      return `${key} is queued for deletion (delete: in [pve:pending]) and goes when CT ${ctid} restarts: apply with --fix-drift to keep it, or take the volume out of the config`;
    case 'ignored':
      return `${key} names ${containerPath} but Proxmox cannot parse its value and mounts nothing: fix or delete the line, or apply with --fix-drift to rewrite it`;
    case 'conflict':
      return `${key} mounts ${decision.currentHostPath} (a ${decision.currentHostPath?.startsWith('/dev/') ? 'device' : 'storage volume'}, the container's own data) at ${containerPath}: sharemount never replaces it; mount the volume at another container path`;
    default:
      return undefined;
  }
}

/**
 * argv for `pct set`, never a shell string; the values are validated again here because this is the exit.
 * `digest` is the SHA-1 of the config text the slot was chosen from: Proxmox refuses the change when the
 * file changed since ("detected modified configuration"), so two writers can never take the same slot.
 * `options` are written as given (optionsToWrite says which), each checked against Proxmox's option names.
 */
export function pctSetArgs(
  ctid: number,
  slot: number,
  hostPath: string,
  containerPath: string,
  digest?: string,
  options: Record<string, string> = {},
): string[] {
  if (!isCtid(ctid)) throw new Error(`invalid CTID ${ctid}`);
  if (!Number.isInteger(slot) || slot < 0 || slot > MAX_MOUNT_POINT_SLOT) throw new Error(`invalid mount point slot ${slot}`);
  validateHostPath('hostPath', hostPath);
  validateContainerPath('containerPath', containerPath);
  if (digest !== undefined && !/^[0-9a-f]{40}$/.test(digest)) throw new Error(`invalid config digest ${JSON.stringify(digest)}: expected 40 hex digits`);
  const extra = Object.entries(options);
  for (const [k, v] of extra) {
    if (!WRITABLE.has(k) || !/^[A-Za-z0-9:;.]+$/.test(v)) throw new Error(`invalid mount point option ${JSON.stringify(`${k}=${v}`)}`);
  }
  const value = [`${hostPath}`, `mp=${containerPath}`, ...extra.map(([k, v]) => `${k}=${v}`)].join(',');
  const args = ['set', String(ctid), `-mp${slot}`, value];
  return digest === undefined ? args : [...args, '--digest', digest];
}

const WRITABLE = new Set(['acl', 'backup', 'idmap', 'keepattrs', 'mountoptions', 'quota', 'replicate', 'ro', 'shared', 'size']);

/** Lexical normalisation for comparison (no node:path: workflows import this file). */
export function normalisePath(value: string): string {
  const out: string[] = [];
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return value.startsWith('/') ? `/${out.join('/')}` : out.join('/');
}
