import { MAX_MOUNT_POINT_SLOT, type MountPointEntry } from './containerConfig';
import { validateContainerPath, validateHostPath } from './paths';
import { isCtid } from './volume';

/**
 * Whether a container already has a volume at its mount point, decided on whole normalised paths (the
 * seed matched substrings, so /vllm_models "was mounted" when /vllm_models_old was).
 */
export type MountDecision =
  | { mount: 'present'; slot: number; pendingUntilRestart?: boolean }
  | { mount: 'drift'; slot: number; currentHostPath: string; pendingUntilRestart?: boolean }
  | { mount: 'new'; slot: number };

export class NoFreeSlotError extends Error {
  constructor(readonly containerPath: string) {
    super(`every mount point slot mp0..mp${MAX_MOUNT_POINT_SLOT} is taken; free one before mounting ${containerPath}`);
    this.name = 'NoFreeSlotError';
  }
}

/**
 * `entries` are the main section's mpN; `pending` those waiting in `[pve:pending]` (they count as taken, and a
 * pending entry for this very pair means the work is done but waits for a restart). `reserved` are slots
 * this plan already gave to other volumes of the same container.
 */
export function decideMountPoint(
  hostPath: string,
  containerPath: string,
  entries: MountPointEntry[],
  pending: MountPointEntry[] = [],
  reserved: number[] = [],
): MountDecision {
  const wantHost = normalisePath(hostPath);
  const wantCt = normalisePath(containerPath);
  const pendingMatch = pending.find((e) => normalisePath(e.containerPath) === wantCt);
  if (pendingMatch) {
    return normalisePath(pendingMatch.volume) === wantHost
      ? { mount: 'present', slot: pendingMatch.slot, pendingUntilRestart: true }
      : { mount: 'drift', slot: pendingMatch.slot, currentHostPath: pendingMatch.volume, pendingUntilRestart: true };
  }
  const atPath = entries.find((e) => normalisePath(e.containerPath) === wantCt);
  if (atPath) {
    return normalisePath(atPath.volume) === wantHost
      ? { mount: 'present', slot: atPath.slot }
      : { mount: 'drift', slot: atPath.slot, currentHostPath: atPath.volume };
  }
  const taken = new Set([...entries, ...pending].map((e) => e.slot).concat(reserved));
  for (let slot = 0; slot <= MAX_MOUNT_POINT_SLOT; slot++) if (!taken.has(slot)) return { mount: 'new', slot };
  throw new NoFreeSlotError(containerPath);
}

/**
 * argv for `pct set`, never a shell string; the values are validated again here because this is the exit.
 * `digest` is the SHA-1 of the config text the slot was chosen from: Proxmox refuses the change when the
 * file changed since ("detected modified configuration"), so two writers can never take the same slot.
 */
export function pctSetArgs(ctid: number, slot: number, hostPath: string, containerPath: string, digest?: string): string[] {
  if (!isCtid(ctid)) throw new Error(`invalid CTID ${ctid}`);
  if (!Number.isInteger(slot) || slot < 0 || slot > MAX_MOUNT_POINT_SLOT) throw new Error(`invalid mount point slot ${slot}`);
  validateHostPath('hostPath', hostPath);
  validateContainerPath('containerPath', containerPath);
  if (digest !== undefined && !/^[0-9a-f]{40}$/.test(digest)) throw new Error(`invalid config digest ${JSON.stringify(digest)}: expected 40 hex digits`);
  const args = ['set', String(ctid), `-mp${slot}`, `${hostPath},mp=${containerPath}`];
  return digest === undefined ? args : [...args, '--digest', digest];
}

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
