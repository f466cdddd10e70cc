/**
 * Fleets for the durability tests: many LXC containers (stand-in pct, real directories as volumes) and EFS
 * instances (moto + SSM agent emulator + mount-namespace sandboxes), plus checks that say, from the files
 * themselves, whether every target converged and whether anything was done twice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEfsActivities, plainRuntime } from '../../src/activities/efs';
import { planEfsMount, type EfsMountRequest } from '../../src/domain/efs';
import { UMASK_PROFILE_PATH } from '../../src/domain/efs/steps/setUmask';
import type { LxcVolume } from '../../src/domain/lxc/volume';
import { makePveDir, makeTree, pctCalls, scratchDir, STAND_IN_PCT } from '../integration/lxc-support';
import type { WorkerProcessConfig } from './workerProcess';
import { createFakeEfs, createInstanceSandbox, FakeEfs, InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { SsmAgentEmulator, startSsmAgentEmulator } from '../../src/sandbox/ssmAgentEmulator';

export { STAND_IN_PCT };

/** A small seeded PRNG (mulberry32) so a run's kill moments can be replayed with SHAREMOUNT_CRASH_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hostUser(name: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`host user ${name} missing`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface LxcFleet {
  node: string;
  base: string;
  pveDir: string;
  pctLog: string;
  runningDir: string;
  ctids: number[];
  volumes: LxcVolume[];
  /** uid:gid every entry of each volume must end with. */
  expectedOwner: Record<string, string>;
  conf(ctid: number): string;
  cleanup(): void;
}

/**
 * 16 containers (12 with Proxmox's default map, root → 100000; 4 with `lxc.idmap` root → 200000; half of them
 * running; some with an unrelated mp0 already) and 8 volumes of `filesPerVolume` root-owned files each,
 * every owner mode represented: container_root, a host user, and none (nobody:nogroup).
 */
export function makeLxcFleet(node: string, filesPerVolume = 300): LxcFleet {
  const base = scratchDir('fleet');
  const ctids = Array.from({ length: 16 }, (_, i) => 300 + i);
  const containers: Record<number, { conf: string; running?: boolean }> = {};
  ctids.forEach((ctid, i) => {
    const map = i >= 12 ? 'lxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n' : '';
    const existing = i % 5 === 0 ? 'mp0: /srv/unrelated,mp=/unrelated\n' : '';
    containers[ctid] = { conf: `arch: amd64\nhostname: ct${ctid}\n${existing}${map}unprivileged: 1\n`, running: i % 2 === 0 };
  });
  const pveDir = makePveDir(containers);
  const layout: Array<{ owner: LxcVolume['owner']; members: number[] }> = [
    { owner: { kind: 'container_root' }, members: [0, 1, 2, 3] },
    { owner: { kind: 'container_root' }, members: [4, 5, 6, 7] },
    { owner: { kind: 'container_root' }, members: [12, 13, 14, 15] },
    { owner: { kind: 'user', user: 'daemon' }, members: [8, 9, 10, 11] },
    { owner: { kind: 'default' }, members: [0, 4, 8, 12] },
    { owner: { kind: 'user', user: 'bin' }, members: [1, 5, 9, 13] },
    { owner: { kind: 'container_root' }, members: [2, 6, 10] },
    { owner: { kind: 'default' }, members: [3, 7, 11, 14, 15] },
  ];
  const volumes: LxcVolume[] = [];
  const expectedOwner: Record<string, string> = {};
  layout.forEach(({ owner, members }, v) => {
    const name = `vol${v}`;
    const hostPath = path.join(base, 'store', name);
    makeTree(
      hostPath,
      Array.from({ length: filesPerVolume }, (_, i) => `d${i % 7}/s${i % 3}/f${i}`),
    );
    volumes.push({ name, hostPath, owner, mounts: members.map((m) => ({ ctid: ctids[m], containerPath: `/shared/${name}` })) });
    let expected: { uid: number; gid: number };
    if (owner.kind === 'default') expected = { uid: 65534, gid: 65534 };
    else if (owner.kind === 'user') expected = hostUser(owner.user);
    else expected = members[0] >= 12 ? { uid: 200000, gid: 200000 } : { uid: 100000, gid: 100000 };
    expectedOwner[name] = `${expected.uid}:${expected.gid}`;
  });
  return {
    node,
    base,
    pveDir,
    pctLog: path.join(pveDir, 'pct.log'),
    runningDir: path.join(pveDir, 'running'),
    ctids,
    volumes,
    expectedOwner,
    conf: (ctid) => fs.readFileSync(path.join(pveDir, 'lxc', `${ctid}.conf`), 'utf8'),
    cleanup() {
      fs.rmSync(base, { recursive: true, force: true });
      fs.rmSync(pveDir, { recursive: true, force: true });
    },
  };
}

function walk(root: string, visit: (file: string, st: fs.Stats) => void): void {
  const st = fs.lstatSync(root);
  visit(root, st);
  if (st.isDirectory()) for (const name of fs.readdirSync(root)) walk(path.join(root, name), visit);
}

export interface LxcConvergence {
  /** Entries whose owner is not the volume's expected one. */
  wrongOwners: string[];
  /** Mounts whose exact `mpN: <host>,mp=<ct>` line is missing from the conf's main section. */
  missingMounts: string[];
  /** The same host path bound more than once in one container, or one slot key twice. */
  duplicates: string[];
  entries: number;
}

/** Reads the fleet's files and confs: who owns what, and which mpN lines exist (and how often). */
export function checkLxcFleet(fleet: LxcFleet): LxcConvergence {
  const out: LxcConvergence = { wrongOwners: [], missingMounts: [], duplicates: [], entries: 0 };
  for (const volume of fleet.volumes) {
    walk(volume.hostPath, (file, st) => {
      out.entries++;
      if (`${st.uid}:${st.gid}` !== fleet.expectedOwner[volume.name]) out.wrongOwners.push(`${file} ${st.uid}:${st.gid}`);
    });
  }
  for (const ctid of fleet.ctids) {
    const text = fleet.conf(ctid);
    const main = text.split(/^\[/m)[0].split('\n');
    const keys = main.filter((l) => /^mp\d+:/.test(l)).map((l) => l.split(':')[0]);
    for (const key of new Set(keys)) if (keys.filter((k) => k === key).length > 1) out.duplicates.push(`CT ${ctid} ${key} twice`);
    for (const volume of fleet.volumes) {
      const mount = volume.mounts.find((m) => m.ctid === ctid);
      if (!mount) continue;
      // The paths first, then whatever options the plan wrote (a shared volume gets mountoptions=nosuid;nodev).
      const value = `${volume.hostPath},mp=${mount.containerPath}`;
      const binds = (l: string) => {
        const entry = l.slice(l.indexOf(' ') + 1);
        return /^mp\d+: /.test(l) && (entry === value || entry.startsWith(`${value},`));
      };
      const lines = text.split('\n').filter(binds);
      if (!main.some(binds)) out.missingMounts.push(`CT ${ctid} ${volume.name}`);
      if (lines.length > 1) out.duplicates.push(`CT ${ctid} binds ${volume.name} ${lines.length} times`);
    }
  }
  return out;
}

/** `pct set` calls per container and slot value, from the stand-in's log. */
export function pctSetCounts(fleet: LxcFleet): Map<string, number> {
  const counts = new Map<string, number>();
  for (const argv of pctCalls(fleet.pctLog)) {
    if (argv[0] !== 'set') continue;
    const key = `${argv[1]} ${argv[3]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export interface EfsFleet {
  moto: MotoServer;
  emulator: SsmAgentEmulator;
  fakeEfs: FakeEfs;
  sandboxes: InstanceSandbox[];
  instanceIds: string[];
  /** Login user of each instance, by instance id. */
  users: Record<string, string>;
  volumeName: string;
  fileSystemId: string;
  mountPoint: string;
  cleanup(): Promise<void>;
}

const LOGIN_USERS = ['ubuntu', 'ec2-user', 'rocky', 'admin1', 'centos', 'fedora', 'debian', 'alma'];

/**
 * `count` instances in moto, each backed by a sandbox with its own login user (UIDs differ), and the file
 * system already created by creation token (as `efs create` would), so its fake directory exists.
 */
export async function makeEfsFleet(volumeName: string, count: number, options: { invisiblePolls?: number } = {}): Promise<EfsFleet> {
  const moto = await startMoto();
  const stops: Array<() => Promise<void> | void> = [() => moto.stop()];
  try {
    const emulator = await startSsmAgentEmulator({ motoEndpoint: moto.endpoint, invisiblePolls: options.invisiblePolls ?? 1 });
    stops.unshift(() => emulator.stop());
    const clients = motoClients(moto.endpoint, emulator.endpoint);
    const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const instanceIds = await launchInstances(
      clients.ec2,
      Array.from({ length: count }, (_, i) => zones[i % zones.length]),
    );
    const fileSystemId = (await createEfsActivities({ ...clients, runtime: plainRuntime }).ensureFileSystem({ name: volumeName })).fileSystemId;
    const fakeEfs = createFakeEfs();
    stops.unshift(() => fakeEfs.destroy());
    fakeEfs.fileSystem(fileSystemId);
    const sandboxes: InstanceSandbox[] = [];
    stops.unshift(async () => {
      for (const s of sandboxes) await s.destroy();
    });
    const users: Record<string, string> = {};
    for (const [i, id] of instanceIds.entries()) {
      const user = LOGIN_USERS[i % LOGIN_USERS.length];
      const sandbox = await createInstanceSandbox({ name: `fleet${i}`, efsRoot: fakeEfs.root, users: [{ name: user, uid: 1000 + i * 7 }] });
      sandboxes.push(sandbox);
      emulator.register(id, sandbox);
      users[id] = user;
    }
    return {
      moto,
      emulator,
      fakeEfs,
      sandboxes,
      instanceIds,
      users,
      volumeName,
      fileSystemId,
      mountPoint: `/mnt/${volumeName}`,
      async cleanup() {
        await runAll(stops);
      },
    };
  } catch (error) {
    await runAll(stops);
    throw error;
  }
}

/** Runs every cleanup step even when one throws (a stuck sandbox must not leave moto running), then rethrows. */
export async function runAll(stops: Array<() => Promise<void> | void>): Promise<void> {
  const errors: unknown[] = [];
  for (const stop of stops) {
    try {
      await stop();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length) throw errors[0];
}

export interface EfsConvergence {
  notConverged: string[];
  duplicates: string[];
}

/** Reads each sandbox: one fstab line, one mount, group membership once, the umask file once, the layout. */
export async function checkEfsInstance(fleet: EfsFleet, index: number, out: EfsConvergence): Promise<void> {
  const sandbox = fleet.sandboxes[index];
  const id = fleet.instanceIds[index];
  const user = fleet.users[id];
  const fstab = fs.readFileSync(path.join(sandbox.etcDir, 'fstab'), 'utf8').split('\n');
  const lines = fstab.filter((l) => l.split(/\s+/)[1] === fleet.mountPoint);
  if (lines.length === 0) out.notConverged.push(`${id}: no fstab line`);
  if (lines.length > 1) out.duplicates.push(`${id}: ${lines.length} fstab lines`);
  if (lines.length && lines[0] !== `${fleet.fileSystemId}:/ ${fleet.mountPoint} efs _netdev,tls 0 0`) out.notConverged.push(`${id}: fstab line ${lines[0]}`);
  const group = fs
    .readFileSync(path.join(sandbox.etcDir, 'group'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('prism-shared:'));
  if (group.length !== 1) out.duplicates.push(`${id}: ${group.length} prism-shared groups`);
  const members = (group[0] ?? '').split(':')[3]?.split(',').filter(Boolean) ?? [];
  if (!group[0]?.startsWith('prism-shared:x:3000:')) out.notConverged.push(`${id}: group line ${group[0]}`);
  if (members.filter((m) => m === user).length !== 1)
    (members.includes(user) ? out.duplicates : out.notConverged).push(`${id}: ${user} in group ${members.filter((m) => m === user).length} times`);
  const mounts = await sandbox.run(`findmnt -rn -o TARGET | grep -cx '${fleet.mountPoint}' || true`);
  const mountCount = Number(mounts.stdout.trim());
  if (mountCount === 0) out.notConverged.push(`${id}: not mounted`);
  if (mountCount > 1) out.duplicates.push(`${id}: mounted ${mountCount} times`);
  const profile = path.join(sandbox.etcDir, path.relative('/etc', UMASK_PROFILE_PATH));
  const umaskLines = fs.existsSync(profile)
    ? fs
        .readFileSync(profile, 'utf8')
        .split('\n')
        .filter((l) => /^\s*umask /.test(l))
    : [];
  if (umaskLines.length === 0) out.notConverged.push(`${id}: no umask profile`);
  if (umaskLines.length > 1) out.duplicates.push(`${id}: umask set ${umaskLines.length} times`);
  const userDir = path.join(fleet.fakeEfs.root, fleet.fileSystemId, 'users', user);
  const shared = path.join(fleet.fakeEfs.root, fleet.fileSystemId, 'shared');
  if (!fs.existsSync(userDir)) out.notConverged.push(`${id}: no users/${user}`);
  else if ((fs.statSync(shared).mode & 0o7777) !== 0o2775 || fs.statSync(shared).gid !== 3000) out.notConverged.push(`${id}: shared/ is not 2775 :3000`);
  const write = await sandbox.runAs(user, `umask 002; touch ${fleet.mountPoint}/shared/written-by-${user}`);
  if (write.code !== 0) out.notConverged.push(`${id}: ${user} cannot write shared/: ${write.stderr.trim()}`);
}

export async function checkEfsFleet(fleet: EfsFleet): Promise<EfsConvergence> {
  const out: EfsConvergence = { notConverged: [], duplicates: [] };
  for (let i = 0; i < fleet.sandboxes.length; i++) await checkEfsInstance(fleet, i, out);
  return out;
}

/**
 * SendCommand runs per instance and step, from the emulator's log of what it really ran; the step of a
 * script is found by comparing it with the plan's scripts for that instance.
 */
export function sentCounts(fleet: EfsFleet, request: Partial<EfsMountRequest> = {}): Map<string, number> {
  const plan = planEfsMount({ volumeName: fleet.volumeName, fileSystemId: fleet.fileSystemId, instanceIds: fleet.instanceIds, ...request });
  const stepOf = new Map<string, string>();
  for (const instance of plan.instances) for (const step of instance.steps) stepOf.set(`${instance.instanceId}\0${step.script}`, step.step);
  const counts = new Map<string, number>();
  for (const sent of fleet.emulator.sent) {
    const key = `${sent.instanceId} ${stepOf.get(`${sent.instanceId}\0${sent.script}`) ?? 'unplanned script'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export function tmpLogDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sharemount-${prefix}-`));
}

/** The worker-process settings both crash tests use: the fleets' node queue and general queue, their endpoints. */
export function fleetWorkerConfig(address: string, lxcQueue: string, generalQueue: string, lxc: LxcFleet, efs: EfsFleet): WorkerProcessConfig {
  return {
    address,
    bundle: process.env.SHAREMOUNT_TEST_WORKFLOW_BUNDLE!,
    taskQueues: [lxcQueue, generalQueue],
    pveDir: lxc.pveDir,
    pct: STAND_IN_PCT,
    pctLog: lxc.pctLog,
    runningDir: lxc.runningDir,
    awsEndpoint: efs.moto.endpoint,
    ssmEndpoint: efs.emulator.endpoint,
    pollIntervalMs: 250,
  };
}
