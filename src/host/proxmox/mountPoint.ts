import { decideMountPoint, NoFreeSlotError, pctSetArgs } from '../../domain/lxc/mountPoints';
import { ProxmoxError } from './errors';
import type { ProxmoxNode } from './node';

export interface BindMountPointInput {
  ctid: number;
  /** The slot the plan chose; used when still free, else the lowest free one (the result says which). */
  slot?: number;
  hostPath: string;
  containerPath: string;
  fixDrift?: boolean;
}

export interface BindMountPointResult {
  ctid: number;
  slot: number;
  changed: boolean;
  /** What the conf says afterwards: mounted now (hot-plugged or stopped CT), or waiting in [pve:pending]. */
  state: 'present' | 'hotplugged' | 'configured' | 'pendingUntilRestart' | 'driftLeft';
  /** drift only: the host path the slot binds and that was left alone (without fixDrift). */
  currentHostPath?: string;
  running: boolean;
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
  const { config, digest } = node.parseConf(ctid);
  let decision;
  try {
    decision = decideMountPoint(hostPath, containerPath, config.mountPoints, config.pendingMountPoints);
  } catch (error) {
    if (error instanceof NoFreeSlotError) throw new ProxmoxError('noFreeSlot', `CT ${ctid}: ${error.message}`);
    throw error;
  }
  const running = await node.isRunning(ctid);
  if (decision.mount === 'present') {
    return { ctid, slot: decision.slot, changed: false, state: decision.pendingUntilRestart ? 'pendingUntilRestart' : 'present', running };
  }
  if (decision.mount === 'drift' && !input.fixDrift) {
    return { ctid, slot: decision.slot, changed: false, state: 'driftLeft', currentHostPath: decision.currentHostPath, running };
  }
  let slot = decision.slot;
  const taken = new Set([...config.mountPoints, ...config.pendingMountPoints].map((e) => e.slot));
  if (decision.mount === 'new' && input.slot !== undefined && !taken.has(input.slot)) slot = input.slot;
  let args: string[];
  try {
    args = pctSetArgs(ctid, slot, hostPath, containerPath, digest);
  } catch (error) {
    throw new ProxmoxError('invalidInput', `CT ${ctid}: ${(error as Error).message}`);
  }
  await node.runPct(args);
  const reread = node.parseConf(ctid).config;
  const after = decideMountPoint(hostPath, containerPath, reread.mountPoints, reread.pendingMountPoints);
  if (after.mount !== 'present') throw new ProxmoxError('pctFailed', `CT ${ctid}: pct set returned but mp${slot} does not bind ${hostPath} at ${containerPath}`);
  const state = after.pendingUntilRestart ? 'pendingUntilRestart' : running ? 'hotplugged' : 'configured';
  return { ctid, slot: after.slot, changed: true, state, running };
}
