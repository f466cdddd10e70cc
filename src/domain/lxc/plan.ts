import { InputError } from '../errors';
import type { LxcConfig } from './config';
import type { LxcVolume } from './volume';
import { ContainerConfigError, parseContainerConfig, type ContainerConfig } from './containerConfig';
import { foreignBindWarnings, hostPathFactsProblem, type HostBind, type HostPathFacts } from './hostPaths';
import type { HostUser } from './hostUsers';
import { idMapOf, IdmapError, mappedRoot, type IdMap } from './idmap';
import { decideMountPoint, NoFreeSlotError } from './mountPoints';
import { resolveOwner, type ContainerRoot, type ResolvedOwner } from './owner';

/**
 * The plan `sharemount lxc plan --json` prints and the apply workflow follows. It is computed from facts
 * only (pure), so a plan and an apply given the same host state agree. The shape is stable (scripts read it):
 *
 * {
 *   "node": "pve1",                        // optional: the Proxmox node the facts came from
 *   "ok": true,                            // false when any volume has errors; apply then changes nothing
 *   "volumes": [{
 *     "name": "vllm_models",
 *     "hostPath": "/mnt/pve/fastData/shared-bulk-data/vllm_models",
 *     "owner": { "mode": "container_root", "uid": 100000, "gid": 100000 },   // null when it cannot be resolved
 *                                          // mode: default | user | container_root; user and group names when known
 *     "note": "...",                       // optional: e.g. why the default owner leaves the volume read-only
 *     "containers": [{
 *       "ctid": 950, "containerPath": "/vllm_models",
 *       "rootUid": 100000, "rootGid": 100000,  // container root as the host sees it; null when unmapped
 *       "idmap": "proxmox-default",         // lxc.idmap | proxmox-default | privileged-identity
 *       "slot": 0,                          // mpN slot used (new) or found (present, drift)
 *       "mount": "new",                     // new | present | drift
 *       "currentHostPath": "/old/path",     // drift only: what the slot binds now
 *       "pendingUntilRestart": true,        // optional: the entry sits in [pve:pending] until the CT restarts
 *       "running": true
 *     }],
 *     "errors": [{ "field": "shared_volumes.vllm_models.mounts.951", "problem": "..." }],  // optional
 *     "warnings": [{ "field": "shared_volumes.vllm_models.host_path", "problem": "..." }]  // optional
 *   }]
 * }
 */
export interface LxcPlan {
  node?: string;
  ok: boolean;
  volumes: VolumePlan[];
}

export interface VolumePlan {
  name: string;
  hostPath: string;
  owner: PlannedOwner | null;
  note?: string;
  containers: ContainerPlan[];
  /** The host path's device and inode as the plan saw them: the walk refuses any other directory. */
  root?: { dev: number; ino: number };
  errors?: PlanError[];
  warnings?: PlanError[];
}

export type PlannedOwner = Omit<ResolvedOwner, 'note'>;

export interface ContainerPlan {
  ctid: number;
  containerPath: string;
  rootUid: number | null;
  rootGid: number | null;
  idmap: IdMap['source'];
  slot: number;
  mount: 'new' | 'present' | 'drift';
  currentHostPath?: string;
  pendingUntilRestart?: boolean;
  running: boolean;
}

export interface PlanError {
  field: string;
  problem: string;
}

/** What the host said about one container: its config text (absent when the file does not exist). */
export interface ContainerFacts {
  ctid: number;
  /** The config file read, for messages, e.g. /etc/pve/lxc/950.conf. */
  file: string;
  text?: string;
  running: boolean;
}

export interface LxcFacts {
  node?: string;
  containers: ContainerFacts[];
  /** The host users named by `owner` fields; a missing name means the user does not exist. */
  hostUsers: Record<string, HostUser>;
  /** Each volume's host path as the host showed it; a plan without them (pure tests) checks no host path. */
  hostPaths?: Record<string, HostPathFacts>;
  /** The host bind mounts of every container on the node, for warnings about directories they expose. */
  hostBinds?: HostBind[];
}

export function buildLxcPlan(config: LxcConfig, facts: LxcFacts): LxcPlan {
  const parsed = new Map<number, ParsedContainer>();
  const parse = (ctid: number) => {
    if (!parsed.has(ctid)) parsed.set(ctid, parseContainer(ctid, facts));
    return parsed.get(ctid)!;
  };
  const reservedSlots = new Map<number, number[]>();
  const binds = foreignBinds(config, facts.hostBinds ?? []);
  const volumes = config.volumes.map((volume) => planVolume(volume, parse, facts, reservedSlots, binds));
  const plan: LxcPlan = { ok: volumes.every((v) => !v.errors), volumes };
  return facts.node === undefined ? plan : { node: facts.node, ...plan };
}

type ParsedContainer =
  | { ok: true; facts: ContainerFacts; config: ContainerConfig; map: IdMap; root?: { uid: number; gid: number }; rootProblem?: string }
  | { ok: false; problem: string };

function parseContainer(ctid: number, facts: LxcFacts): ParsedContainer {
  const found = facts.containers.find((c) => c.ctid === ctid);
  if (!found) return { ok: false, problem: `no facts were gathered for container ${ctid}` };
  if (found.text === undefined) return { ok: false, problem: `container ${ctid} does not exist on this node (${found.file} is missing)` };
  try {
    const config = parseContainerConfig(found.text, found.file);
    const map = idMapOf(config);
    try {
      return { ok: true, facts: found, config, map, root: mappedRoot(map, found.file) };
    } catch (error) {
      if (error instanceof IdmapError) return { ok: true, facts: found, config, map, rootProblem: error.message };
      throw error;
    }
  } catch (error) {
    if (error instanceof ContainerConfigError || error instanceof IdmapError) return { ok: false, problem: error.message };
    throw error;
  }
}

function planVolume(
  volume: LxcVolume,
  parse: (ctid: number) => ParsedContainer,
  facts: LxcFacts,
  reservedSlots: Map<number, number[]>,
  binds: HostBind[],
): VolumePlan {
  const errors: PlanError[] = [];
  const warnings: PlanError[] = [];
  const hostPathField = `shared_volumes.${volume.name}.host_path`;
  const hostPath = facts.hostPaths?.[volume.hostPath];
  const hostPathProblem = hostPath && hostPathFactsProblem(hostPath);
  if (hostPathProblem) errors.push({ field: hostPathField, problem: hostPathProblem });
  for (const problem of foreignBindWarnings(volume.hostPath, binds)) warnings.push({ field: hostPathField, problem });
  const containers: ContainerPlan[] = [];
  const roots: ContainerRoot[] = [];
  for (const mount of volume.mounts) {
    const field = `shared_volumes.${volume.name}.mounts.${mount.ctid}`;
    const ct = parse(mount.ctid);
    if (!ct.ok) {
      errors.push({ field, problem: ct.problem });
      continue;
    }
    if (ct.root) roots.push({ ctid: mount.ctid, ...ct.root });
    else if (volume.owner.kind === 'container_root') errors.push({ field, problem: ct.rootProblem! });
    try {
      const reserved = reservedSlots.get(mount.ctid) ?? [];
      const decision = decideMountPoint(volume.hostPath, mount.containerPath, ct.config.mountPoints, ct.config.pendingMountPoints, reserved);
      if (decision.mount === 'new') reservedSlots.set(mount.ctid, [...reserved, decision.slot]);
      containers.push({
        ctid: mount.ctid,
        containerPath: mount.containerPath,
        rootUid: ct.root?.uid ?? null,
        rootGid: ct.root?.gid ?? null,
        idmap: ct.map.source,
        ...decision,
        running: ct.facts.running,
      });
    } catch (error) {
      if (!(error instanceof NoFreeSlotError)) throw error;
      errors.push({ field, problem: `${ct.facts.file}: ${error.message}` });
    }
  }
  let owner: ResolvedOwner | null = null;
  if (!(volume.owner.kind === 'container_root' && roots.length < volume.mounts.length)) {
    try {
      owner = resolveOwner(volume, { hostUsers: facts.hostUsers, containerRoots: roots });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      errors.push({ field: error.field, problem: error.problem });
    }
  }
  const plan: VolumePlan = { name: volume.name, hostPath: volume.hostPath, owner: null, containers };
  if (hostPath?.dev !== undefined && hostPath.ino !== undefined && !hostPathProblem) plan.root = { dev: hostPath.dev, ino: hostPath.ino };
  if (owner) {
    const { note, ...planned } = owner;
    plan.owner = planned;
    const notes = [note, ...rootsNotOwning(owner, roots)].filter((n): n is string => !!n);
    if (notes.length) plan.note = notes.join('; ');
  }
  if (errors.length) plan.errors = errors;
  if (warnings.length) plan.warnings = warnings;
  return plan;
}

/** Host bind mounts that are not one of this config's volumes: directories containers mount by other means. */
function foreignBinds(config: LxcConfig, binds: HostBind[]): HostBind[] {
  const ours = (bind: HostBind) => config.volumes.some((v) => v.hostPath === bind.hostPath && v.mounts.some((m) => m.ctid === bind.ctid && m.containerPath === bind.containerPath));
  return binds.filter((bind) => !ours(bind));
}

/** For a named host user: say which containers' root is not that user (they write only through mode bits). */
function rootsNotOwning(owner: ResolvedOwner, roots: ContainerRoot[]): string[] {
  if (owner.mode !== 'user') return [];
  const others = roots.filter((r) => r.uid !== owner.uid);
  if (others.length === 0) return [];
  return [`${others.map((r) => `CT ${r.ctid} root (${r.uid}:${r.gid})`).join(', ')} is not the owner ${owner.uid}:${owner.gid} and can write only where the mode bits let it`];
}
