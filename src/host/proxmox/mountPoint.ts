import {
  decideMountPoint,
  LEFT_WITHOUT_FIX,
  mountStateAdvice,
  NoFreeSlotError,
  optionsToWrite,
  pctSetArgs,
  type MountState,
  type MountWants,
} from '../../domain/lxc/mountPoints';
import { onSharedStorage } from '../../domain/lxc/cluster';
import { ProxmoxError } from './errors';
import type { ProxmoxNode } from './node';

export interface BindMountPointInput {
  ctid: number;
  /** The slot the plan chose; used when still free, else the lowest free one (the result says which). */
  slot?: number;
  hostPath: string;
  containerPath: string;
  fixDrift?: boolean;
  /** The options the plan asks for (ro, mountoptions, backup, idmap); an entry with others is drift. */
  options?: MountWants;
}

export interface BindMountPointResult {
  ctid: number;
  slot: number;
  changed: boolean;
  /**
   * What the conf says afterwards: mounted now (hot-plugged or stopped CT), or waiting in [pve:pending];
   * driftLeft: a drift, read-only, pending-delete or unparseable entry left alone (without fixDrift);
   * conflictLeft: a storage volume or device at the path, which is never replaced.
   */
  state: 'present' | 'hotplugged' | 'configured' | 'pendingUntilRestart' | 'driftLeft' | 'conflictLeft';
  /** What was found at the path before (the plan's mount state). */
  found: MountState;
  /** driftLeft, conflictLeft: what to do about it. */
  advice?: string;
  /** drift, conflict: what the slot mounts now, left alone. */
  currentHostPath?: string;
  /** null when pct status failed. */
  running: boolean | null;
}

/** What `pct set --digest` says when the config changed after it was read (PVE::Tools::assert_if_modified). */
const CONFIG_CHANGED = /detected modified configuration/;
const CONFIG_CHANGED_TRIES = 5;

/**
 * Binds hostPath at containerPath with `pct set`, unless the conf already says so (then pct is not called).
 * The slot is chosen from the config as read and set against that config's digest, so a concurrent writer
 * makes pct refuse instead of losing a mount; then it reads again and tries again. Never restarts a
 * container: a change Proxmox keeps pending is reported as such.
 */
export async function bindMountPoint(node: ProxmoxNode, input: BindMountPointInput): Promise<BindMountPointResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bindOnce(node, input);
    } catch (error) {
      if (!(error instanceof ProxmoxError) || error.kind !== 'pctFailed' || !CONFIG_CHANGED.test(error.message)) throw error;
      if (attempt >= CONFIG_CHANGED_TRIES) {
        throw new ProxmoxError('configKeptChanging', `CT ${input.ctid}: its config kept changing while sharemount bound the mount point (${error.message})`);
      }
    }
  }
}

async function bindOnce(node: ProxmoxNode, input: BindMountPointInput): Promise<BindMountPointResult> {
  const { ctid, hostPath, containerPath } = input;
  const wants = input.options ?? {};
  const { config, digest } = node.parseConf(ctid);
  let decision;
  try {
    decision = decideMountPoint(hostPath, containerPath, config.mountPoints, config.pendingMountPoints, [], config.pendingDeletes, wants);
  } catch (error) {
    if (error instanceof NoFreeSlotError) throw new ProxmoxError('noFreeSlot', `CT ${ctid}: ${error.message}`);
    throw error;
  }
  const { running } = await node.runningState(ctid);
  const found = decision.mount;
  const kept = { ctid, slot: decision.slot, changed: false, found, running };
  if (found === 'present') return { ...kept, state: 'present' };
  if (found === 'pending') return { ...kept, state: 'pendingUntilRestart' };
  const advice = mountStateAdvice(decision, ctid, hostPath, containerPath);
  const current = decision.currentHostPath === undefined ? {} : { currentHostPath: decision.currentHostPath };
  if (found === 'conflict') return { ...kept, state: 'conflictLeft', advice, ...current };
  if (LEFT_WITHOUT_FIX.includes(found) && !input.fixDrift) return { ...kept, state: 'driftLeft', advice, ...current };
  let slot = decision.slot;
  const taken = new Set([...config.mountPoints, ...config.pendingMountPoints].map((e) => e.slot));
  if (found === 'new' && input.slot !== undefined && !taken.has(input.slot)) slot = input.slot;
  // A read-only, pending-delete or differing entry is this very bind: its rewrite keeps its other options (acl, quota, …).
  const sameBind = found === 'readOnly' || found === 'pendingDelete' || (found === 'drift' && decision.currentHostPath === undefined);
  const keep = optionsToWrite(sameBind ? { ...decision.entry?.parsed?.options } : {}, wants);
  // update_vm refuses a bind mount into a replicated guest unless it says replicate=0; migration and HA
  // refuse a local bind mount unless shared=1 says the path is the same on every node.
  const cluster = node.readCluster();
  if (cluster.replicated.includes(ctid)) keep.replicate = '0';
  if (onSharedStorage(hostPath, cluster.sharedPaths)) keep.shared = '1';
  let args: string[];
  try {
    args = pctSetArgs(ctid, slot, hostPath, containerPath, digest, keep);
  } catch (error) {
    throw new ProxmoxError('invalidInput', `CT ${ctid}: ${(error as Error).message}`);
  }
  await node.runPct(args);
  const reread = node.parseConf(ctid).config;
  const after = decideMountPoint(hostPath, containerPath, reread.mountPoints, reread.pendingMountPoints, [], reread.pendingDeletes, wants);
  if (after.mount !== 'present' && after.mount !== 'pending') {
    throw new ProxmoxError('pctFailed', `CT ${ctid}: pct set returned but mp${slot} does not bind ${hostPath} at ${containerPath} as planned (${after.mount})`);
  }
  // Only a new mount point is hot-plugged; a rewritten one that is not pending was mounted all along.
  const state = after.mount === 'pending' ? 'pendingUntilRestart' : found === 'new' && running ? 'hotplugged' : 'configured';
  return { ctid, slot: after.slot, changed: true, state, found, running };
}
