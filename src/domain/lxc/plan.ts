import { InputError } from '../errors';
import { walkNodeFor, type ClusterFacts } from './cluster';
import type { LxcConfig } from './config';
import type { Ids, LxcMount, LxcVolume } from './volume';
import { ContainerConfigError, parseContainerConfig, type ConfigWarning, type ContainerConfig, type MountPointEntry } from './containerConfig';
import { foreignBindWarnings, hostPathFactsProblem, type HostBind, type HostPathFacts } from './hostPaths';
import type { HostUser } from './hostUsers';
import { diskIdsThrough, hostIdsOf, idMapOf, IdmapError, mappedRoot, mountRoot, type IdMap, type MountRoot } from './idmap';
import { idmapValue, idmapValueProblem } from './idmapValue';
import { chooseStrategy, type StrategyName } from './strategy';
import { decideMountPoint, mountStateAdvice, NoFreeSlotError, volumeMountWants, type MountDecision, type MountState, type MountWants } from './mountPoints';
import { looseContainerPath, looseVolume, type MountPointType } from './mountPointFormat';
import { chooseDiskOwner, ownerContainerIds, resolveOwner, type ContainerRoot, type ResolvedOwner } from './owner';
import type { StrategySetting } from './volume';

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
 *     "walkNode": "pve1",                  // optional (cluster): the node whose worker walks the host path
 *     "containers": [{
 *       "ctid": 950, "containerPath": "/vllm_models",
 *       "node": "pve2",                     // optional (cluster): the node that holds it; its pct set runs there
 *       "rootUid": 100000, "rootGid": 100000,  // container root as the host sees it; null when unmapped
 *       "idmap": "proxmox-default",         // lxc.idmap | proxmox-default | privileged-identity
 *       "slot": 0,                          // mpN slot used (new) or found (every other state)
 *       "mount": "new",                     // new | present | pending | drift | readOnly | pendingDelete | ignored | conflict
 *       "currentHostPath": "/old/path",     // drift, conflict: what the slot mounts now
 *       "differs": ["no mountoptions (config: mountoptions=nosuid;nodev)"],  // drift of this very bind: its options
 *       "options": { "ro": "1", "mountoptions": "nosuid;nodev", "backup": "0" },  // optional: what apply writes
 *                                          // besides the paths (from read_only, mountoptions, backup)
 *       "pendingUntilRestart": true,        // optional: the entry found sits in [pve:pending] until the CT restarts
 *       "existing": { "key": "mp0", ... },  // optional: the mount point found at the path (shape as in containers[].mountPoints)
 *       "writesAs": { "uid": 5000, "gid": 5000, "through": "mount-idmap" },  // optional: the disk ids root writes as
 *                                          // through this mount when its idmap= makes them differ (passthrough | mount-idmap)
 *       "running": true                     // null when pct status failed (a warning says why)
 *     }],
 *     "errors": [{ "field": "shared_volumes.vllm_models.mounts.951", "problem": "..." }],  // optional
 *     "warnings": [{ "field": "shared_volumes.vllm_models.host_path", "problem": "..." }]  // optional
 *   }],
 *   "containers": [{                       // every container the volumes name, once
 *     "ctid": 950, "file": "/etc/pve/lxc/950.conf", "running": true, "unprivileged": true,
 *     "protection": false, "lock": "backup",   // lock only when set
 *     "mountPoints": [{                    // every mpN Proxmox keeps, main section then [pve:pending]
 *       "key": "mp0", "line": 12, "section": "main",  // main | pending
 *       "parseable": true,                 // false: Proxmox cannot parse the value and mounts nothing ("problem" says why)
 *       "type": "bind",                    // bind | volume (storage) | device; absent when not parseable
 *       "volume": "/mnt/pve/x", "containerPath": "/x", "ro": false,
 *       "idmap": "u:0:5000:1",             // optional: the mount's idmap= as written (or passthrough)
 *       "mountoptions": "nosuid;nodev", "backup": false,  // optional: as written
 *       "pendingDelete": false             // queued by delete: in [pve:pending]
 *     }],
 *     "warnings": [{ "file": "/etc/pve/lxc/950.conf", "line": 7, "problem": "..." }]  // what Proxmox warns about too
 *   }]
 * }
 */
export interface LxcPlan {
  node?: string;
  ok: boolean;
  volumes: VolumePlan[];
  containers: ContainerSummary[];
}

export interface MountPointSummary {
  key: string;
  line: number;
  section: 'main' | 'pending';
  parseable: boolean;
  problem?: string;
  type?: MountPointType;
  volume?: string;
  containerPath?: string;
  ro?: boolean;
  idmap?: string;
  mountoptions?: string;
  backup?: boolean;
  pendingDelete: boolean;
}

export interface PlanWarning {
  file: string;
  /** Absent for a warning about the container rather than a line (e.g. pct status failed). */
  line?: number;
  problem: string;
}

export interface ContainerSummary {
  ctid: number;
  file: string;
  node?: string;
  running: boolean | null;
  unprivileged?: boolean;
  protection?: boolean;
  lock?: string;
  mountPoints: MountPointSummary[];
  warnings?: PlanWarning[];
  /** Why the config could not be read (the container then takes part in no volume). */
  problem?: string;
}

export interface VolumePlan {
  name: string;
  hostPath: string;
  owner: PlannedOwner | null;
  /** How the volume is made writable, and why. */
  strategy: { name: StrategyName; requested: StrategySetting; reason: string };
  note?: string;
  containers: ContainerPlan[];
  /** The host path's device and inode as the plan saw them: the walk refuses any other directory. */
  root?: { dev: number; ino: number };
  /** The node whose worker walks the host path: this one when it is on shared storage, else the containers' own. */
  walkNode?: string;
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
  mount: MountState;
  currentHostPath?: string;
  pendingUntilRestart?: boolean;
  differs?: string[];
  /** The options apply writes on the mount point besides the paths. */
  options?: MountWants;
  existing?: MountPointSummary;
  writesAs?: MountRoot;
  /** The node that holds the container, where its pct set runs (lxc:<node>). */
  node?: string;
  running: boolean | null;
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
  /** null when the state could not be read; `statusProblem` then says why. */
  running: boolean | null;
  statusProblem?: string;
  /** The node that holds it (cluster: from .vmlist or nodes/<node>/lxc). */
  node?: string;
  /** When `text` is absent: where the host looked. */
  notFound?: string;
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
  /** storage.cfg's shared paths and replication.cfg's guests; absent: nothing is shared or replicated. */
  cluster?: ClusterFacts;
  /** The node's pve-container version (the lowest, when the volume's containers are on several nodes). */
  pveContainerVersion?: string;
  /** Why the version could not be read. */
  pveContainerVersionProblem?: string;
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
  const ctids = [...new Set(config.volumes.flatMap((v) => v.mounts.map((m) => m.ctid)))].sort((a, b) => a - b);
  const containers = ctids.map((ctid) => summarise(ctid, parse(ctid), facts));
  const plan: LxcPlan = { ok: volumes.every((v) => !v.errors), volumes, containers };
  return facts.node === undefined ? plan : { node: facts.node, ...plan };
}

type ParsedContainer =
  | { ok: true; facts: ContainerFacts; config: ContainerConfig; map?: IdMap; root?: { uid: number; gid: number }; rootProblem?: string }
  | { ok: false; problem: string };

function parseContainer(ctid: number, facts: LxcFacts): ParsedContainer {
  const found = facts.containers.find((c) => c.ctid === ctid);
  if (!found) return { ok: false, problem: `no facts were gathered for container ${ctid}` };
  if (found.text === undefined) return { ok: false, problem: found.notFound ?? `container ${ctid} does not exist on this node (${found.file} is missing)` };
  let config: ContainerConfig;
  try {
    config = parseContainerConfig(found.text, found.file);
  } catch (error) {
    if (error instanceof ContainerConfigError) return { ok: false, problem: error.message };
    throw error;
  }
  try {
    const map = idMapOf(config);
    return { ok: true, facts: found, config, map, root: mappedRoot(map, found.file) };
  } catch (error) {
    if (error instanceof IdmapError) return { ok: true, facts: found, config, rootProblem: error.message };
    throw error;
  }
}

function summarise(ctid: number, ct: ParsedContainer, facts: LxcFacts): ContainerSummary {
  const found = facts.containers.find((c) => c.ctid === ctid);
  const file = found?.file ?? `lxc/${ctid}.conf`;
  if (!ct.ok) return { ctid, file, running: found?.running ?? null, mountPoints: [], problem: ct.problem };
  const { config } = ct;
  const warnings: PlanWarning[] = config.warnings.map(({ file: f, line, problem }: ConfigWarning) => ({ file: f, line, problem }));
  if (ct.facts.statusProblem) warnings.push({ file, problem: `running state unknown: ${ct.facts.statusProblem}` });
  const summary: ContainerSummary = {
    ctid,
    file,
    ...(ct.facts.node === undefined ? {} : { node: ct.facts.node }),
    running: ct.facts.running,
    unprivileged: config.unprivileged,
    protection: config.protection,
    mountPoints: [
      ...config.mountPoints.map((e) => mountSummary(e, 'main', config.pendingDeletes)),
      ...config.pendingMountPoints.map((e) => mountSummary(e, 'pending', config.pendingDeletes)),
    ],
  };
  if (config.lock !== undefined) summary.lock = config.lock;
  if (warnings.length) summary.warnings = warnings;
  return summary;
}

export function mountSummary(entry: MountPointEntry, section: 'main' | 'pending', pendingDeletes: string[]): MountPointSummary {
  const key = `mp${entry.slot}`;
  const base = { key, line: entry.line, section, pendingDelete: section === 'main' && pendingDeletes.includes(key) };
  const mount = entry.parsed;
  if (!mount) {
    const summary: MountPointSummary = { ...base, parseable: false, problem: entry.problem };
    const volume = looseVolume(entry.raw);
    const containerPath = looseContainerPath(entry.raw);
    if (volume !== undefined) summary.volume = volume;
    if (containerPath !== undefined) summary.containerPath = containerPath;
    return summary;
  }
  const summary: MountPointSummary = { ...base, parseable: true, type: mount.type, volume: mount.volume, containerPath: mount.containerPath, ro: mount.ro };
  if (mount.options.idmap !== undefined) summary.idmap = mount.options.idmap;
  if (mount.options.mountoptions !== undefined) summary.mountoptions = mount.options.mountoptions;
  if (mount.options.backup !== undefined) summary.backup = mount.options.backup === '1';
  return summary;
}

/** The states in which the entry found stays as it is (so its idmap= decides how root writes). */
const ENTRY_KEPT: readonly MountState[] = ['present', 'pending', 'readOnly', 'pendingDelete'];

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
  const readable: Array<{ mount: LxcMount; field: string; ct: Extract<ParsedContainer, { ok: true }> }> = [];
  for (const mount of volume.mounts) {
    const field = `shared_volumes.${volume.name}.mounts.${mount.ctid}`;
    const ct = parse(mount.ctid);
    if (ct.ok) readable.push({ mount, field, ct });
    else errors.push({ field, problem: ct.problem });
  }
  const choice = chooseStrategy(volume.strategy ?? 'auto', {
    owner: volume.owner,
    pveContainerVersion: facts.pveContainerVersion,
    versionProblem: facts.pveContainerVersionProblem,
    fsType: hostPath?.fsType,
    privileged: readable.filter(({ ct }) => ct.map?.source === 'privileged-identity').map(({ mount }) => mount.ctid),
  });
  for (const problem of choice.blockers) errors.push({ field: `shared_volumes.${volume.name}.strategy`, problem: `idmap cannot be used: ${problem}` });
  const ownerIds = ownerContainerIds(volume);
  const idmapped = choice.strategy === 'idmap' && choice.blockers.length === 0 && ownerIds !== undefined;
  const disk = idmapped ? idmapDiskOwner(volume, ownerIds, readable, hostPath, errors) : undefined;
  const baseWants = volumeMountWants(volume);

  const containers: ContainerPlan[] = [];
  const roots: ContainerRoot[] = [];
  const owners: ContainerRoot[] = [];
  for (const { mount, field, ct } of readable) {
    const wants: MountWants = { ...baseWants };
    if (disk && ownerIds && ct.map) {
      const value = idmapValue(ownerIds, disk);
      const problem = idmapValueProblem(ct.map, value);
      if (problem) errors.push({ field, problem: `${ct.facts.file}: idmap=${value}: ${problem}` });
      wants.idmap = value;
    }
    let decision: MountDecision;
    try {
      const reserved = reservedSlots.get(mount.ctid) ?? [];
      decision = decideMountPoint(
        volume.hostPath,
        mount.containerPath,
        ct.config.mountPoints,
        ct.config.pendingMountPoints,
        reserved,
        ct.config.pendingDeletes,
        wants,
      );
      if (decision.mount === 'new') reservedSlots.set(mount.ctid, [...reserved, decision.slot]);
    } catch (error) {
      if (!(error instanceof NoFreeSlotError)) throw error;
      errors.push({ field, problem: `${ct.facts.file}: ${error.message}` });
      continue;
    }
    // A drift of this very bind is rewritten with its other options kept, so its idmap= stays too.
    const sameBind = ENTRY_KEPT.includes(decision.mount) || (decision.mount === 'drift' && decision.currentHostPath === undefined);
    const kept = sameBind ? decision.entry?.parsed : undefined;
    let writesAs: MountRoot | undefined;
    let ownerProblem = ct.rootProblem;
    if (ct.root && ct.map) {
      try {
        writesAs = mountRoot(ct.map, ct.root, kept, ct.facts.file);
      } catch (error) {
        if (!(error instanceof IdmapError)) throw error;
        ownerProblem = error.message;
      }
    }
    if (writesAs) roots.push({ ctid: mount.ctid, uid: writesAs.uid, gid: writesAs.gid });
    // The ids the owner writes as through this mount, for a chown that must serve every container.
    if (ownerIds && ct.map && !disk) {
      try {
        owners.push({ ctid: mount.ctid, ...diskIdsThrough(ct.map, ownerIds, kept, ct.facts.file) });
      } catch (error) {
        if (!(error instanceof IdmapError)) throw error;
        errors.push({ field, problem: error.message });
      }
    } else if (ownerIds && !disk && !ct.map) errors.push({ field, problem: ownerProblem! });
    if (decision.mount === 'conflict') errors.push({ field, problem: mountStateAdvice(decision, mount.ctid, volume.hostPath, mount.containerPath)! });
    const changes =
      decision.mount === 'new' ||
      decision.mount === 'drift' ||
      decision.mount === 'readOnly' ||
      decision.mount === 'pendingDelete' ||
      decision.mount === 'ignored';
    if (changes && (ct.config.protection || ct.config.lock !== undefined)) {
      const why = ct.config.protection ? 'protection: 1 is set' : `it is locked (lock: ${ct.config.lock})`;
      const risky = decision.mount === 'new' ? errors : warnings;
      risky.push({ field, problem: `${ct.facts.file}: ${why}, and pct set refuses to change mp${decision.slot} of CT ${mount.ctid} until that is cleared` });
    }
    if (changes && wants.idmap && decision.mount !== 'new' && ct.facts.running) {
      warnings.push({
        field,
        problem: `${ct.facts.file}: CT ${mount.ctid} runs, so its changed mp${decision.slot} waits in [pve:pending] until it restarts (sharemount never restarts it)`,
      });
    }
    if (writesAs?.note) warnings.push({ field, problem: `${ct.facts.file}: mp${decision.slot}: ${writesAs.note}` });
    const { entry, ...shown } = decision;
    const plan: ContainerPlan = {
      ctid: mount.ctid,
      containerPath: mount.containerPath,
      rootUid: ct.root?.uid ?? null,
      rootGid: ct.root?.gid ?? null,
      idmap: ct.map?.source ?? 'lxc.idmap',
      ...shown,
      ...(ct.facts.node === undefined ? {} : { node: ct.facts.node }),
      running: ct.facts.running,
    };
    if (Object.keys(wants).length) plan.options = wants;
    if (entry) plan.existing = mountSummary(entry, shown.pendingUntilRestart ? 'pending' : 'main', ct.config.pendingDeletes);
    if (writesAs && writesAs.through !== 'container' && !disk) plan.writesAs = { uid: writesAs.uid, gid: writesAs.gid, through: writesAs.through };
    containers.push(plan);
  }
  let owner: ResolvedOwner | null = null;
  if (disk && ownerIds) {
    owner = {
      mode: volume.owner.kind as 'container_root' | 'container_ids',
      uid: disk.uid,
      gid: disk.gid,
      containerIds: ownerIds,
      note: `disk owner: ${disk.why}`,
    };
  } else if (!disk && !(ownerIds && owners.length < volume.mounts.length) && !(choice.strategy === 'idmap' && ownerIds)) {
    try {
      owner = resolveOwner(volume, { hostUsers: facts.hostUsers, containerRoots: ownerIds ? owners : roots });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      errors.push({ field: error.field, problem: error.problem });
    }
  }
  const located = volume.mounts.map((m) => ({ ctid: m.ctid, node: facts.containers.find((c) => c.ctid === m.ctid)?.node }));
  let walkNode: string | undefined;
  if (located.some((c) => c.node !== undefined)) {
    const where = walkNodeFor(volume.hostPath, located, facts.node ?? located.find((c) => c.node)!.node!, facts.cluster ?? { sharedPaths: [], replicated: [] });
    if ('problem' in where) errors.push({ field: hostPathField, problem: where.problem });
    else walkNode = where.node;
  }
  const plan: VolumePlan = {
    name: volume.name,
    hostPath: volume.hostPath,
    owner: null,
    strategy: { name: choice.strategy, requested: choice.requested, reason: choice.reason },
    containers,
  };
  if (walkNode !== undefined) plan.walkNode = walkNode;
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

/** The idmap strategy's disk owner (owner.ts chooseDiskOwner), from the config, the tree, or the first container. */
function idmapDiskOwner(
  volume: LxcVolume,
  ownerIds: Ids,
  readable: Array<{ mount: LxcMount; field: string; ct: Extract<ParsedContainer, { ok: true }> }>,
  hostPath: HostPathFacts | undefined,
  errors: PlanError[],
): { uid: number; gid: number; why: string } | undefined {
  let firstContainer: (Ids & { ctid: number }) | undefined;
  for (const { mount, field, ct } of readable) {
    if (!ct.map) {
      errors.push({ field, problem: ct.rootProblem ?? `${ct.facts.file}: no id map` });
      continue;
    }
    try {
      const ids = hostIdsOf(ct.map, ownerIds, ct.facts.file);
      firstContainer ??= { ctid: mount.ctid, ...ids };
    } catch (error) {
      if (!(error instanceof IdmapError)) throw error;
      errors.push({ field, problem: error.message });
    }
  }
  const tree = hostPath?.uid !== undefined && hostPath.gid !== undefined ? { uid: hostPath.uid, gid: hostPath.gid } : undefined;
  try {
    return chooseDiskOwner(`shared_volumes.${volume.name}.disk_owner`, { configured: volume.diskOwner, tree, firstContainer });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    errors.push({ field: error.field, problem: error.problem });
    return undefined;
  }
}

/** Host bind mounts that are not one of this config's volumes: directories containers mount by other means. */
function foreignBinds(config: LxcConfig, binds: HostBind[]): HostBind[] {
  const ours = (bind: HostBind) =>
    config.volumes.some((v) => v.hostPath === bind.hostPath && v.mounts.some((m) => m.ctid === bind.ctid && m.containerPath === bind.containerPath));
  return binds.filter((bind) => !ours(bind));
}

/** For a named host user: say which containers' root is not that user (they write only through mode bits). */
function rootsNotOwning(owner: ResolvedOwner, roots: ContainerRoot[]): string[] {
  if (owner.mode !== 'user') return [];
  const others = roots.filter((r) => r.uid !== owner.uid);
  if (others.length === 0) return [];
  return [
    `${others.map((r) => `CT ${r.ctid} root (${r.uid}:${r.gid})`).join(', ')} is not the owner ${owner.uid}:${owner.gid} and can write only where the mode bits let it`,
  ];
}
