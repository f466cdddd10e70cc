'use strict';
/**
 * bench/ownership's idmap strategy (issue 13): on a tree already owned by the disk owner, an idmap apply sets
 * each container's mount point with `idmap=` and checks the tree root's owner; nothing walks the tree. Measured
 * on a stand-in node (stand-in pct, a pve dir of its own) of two containers whose maps differ (root 100000 and
 * root 300000), the case only idmap= solves.
 *
 * Which path is measured:
 *   cli     `sharemount lxc apply --strategy idmap --pve-dir --pct` against a dev server of the bench's own and
 *           a `sharemount worker` for the stand-in node: the whole operator path, Temporal included;
 *   direct  the same operations without Temporal: stand-in `pct set <ct> -mp0 …,idmap=…` per container, then a
 *           stat of the root. Taken while the CLI does not accept --strategy (found from `lxc apply --help`).
 * Each is run on the tree and on an empty volume in the same run: equal times say the cost is the tree's size's
 * to ignore.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { ROOT, ensureDist, devServer, scratch, seconds, timed } = require('./lib');

const STAND_IN_PCT = path.join(ROOT, 'src', 'sandbox', 'bin', 'pct');
const DISK_OWNER = { uid: 100000, gid: 100000 };
const CONTAINERS = {
  950: 'arch: amd64\nunprivileged: 1\n',
  951: 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 300000 65536\nlxc.idmap: g 0 300000 65536\n',
};
const CT_PATH = '/models';
/**
 * What the planner writes for these containers (each container's root to disk 100000, nosuid;nodev on a
 * volume of several containers), as test/integration/idmap-kernel.test.ts proves with the kernel. The direct
 * path writes it itself; the cli path lets sharemount choose and checks that idmap= reached every conf.
 */
const MOUNT_OPTIONS = 'mountoptions=nosuid;nodev,idmap=u:0:100000:1;g:0:100000:1';

const cliEntry = () => path.join(ensureDist(), 'client.js');

/** The CLI's `lxc apply` options, read from its help: whether it takes --strategy, and its pve-container version option if any. */
function cliSupport() {
  const help = spawnSync(process.execPath, [cliEntry(), 'lxc', 'apply', '--help'], { encoding: 'utf8' }).stdout ?? '';
  return { strategy: /--strategy\b/.test(help), versionOption: /(--[a-z-]*pve[a-z-]*version[a-z-]*)\s+<[^>]+>/.exec(help)?.[1] };
}

function standInNode(base) {
  const pveDir = path.join(base, 'pve');
  fs.mkdirSync(path.join(pveDir, 'lxc'), { recursive: true });
  fs.mkdirSync(path.join(pveDir, 'running'));
  const reset = () => Object.entries(CONTAINERS).forEach(([ct, conf]) => fs.writeFileSync(path.join(pveDir, 'lxc', `${ct}.conf`), conf));
  reset();
  const confs = () => Object.keys(CONTAINERS).map((ct) => fs.readFileSync(path.join(pveDir, 'lxc', `${ct}.conf`), 'utf8'));
  return { pveDir, reset, confs, env: { ...process.env, SHAREMOUNT_PVE_DIR: pveDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } };
}

/** The root's owner is the disk owner (the one check an idmap apply makes of the tree); its wall in seconds. */
function checkRootOwner(root) {
  const start = process.hrtime.bigint();
  const st = fs.statSync(root);
  const wall = seconds(start);
  if (st.uid !== DISK_OWNER.uid || st.gid !== DISK_OWNER.gid) throw new Error(`${root} is ${st.uid}:${st.gid}, not the disk owner`);
  return wall;
}

/** The direct path: one stand-in pct set per container, then the root check. */
function applyDirect(node, root) {
  node.reset();
  const pctSet = Object.keys(CONTAINERS).reduce(
    (wall, ct) => wall + timed(STAND_IN_PCT, ['set', ct, '-mp0', `${root},mp=${CT_PATH},${MOUNT_OPTIONS}`], { env: node.env }).wall,
    0,
  );
  const check = checkRootOwner(root);
  return { wall: pctSet + check, pctSet, check };
}

/** A `sharemount worker` serving the stand-in node's queue, on the bench's dev server; resolves once it polls. */
function startWorker(node, nodeName, address, support) {
  // The worker reads the node's pve-container version (the stand-in node has no dpkg entry): named as on the CLI.
  const version = support.versionOption ? [support.versionOption, '6.1.6'] : [];
  const worker = spawn(
    process.execPath,
    [cliEntry(), 'worker', '--node', nodeName, '--no-general', '--pve-dir', node.pveDir, '--pct', STAND_IN_PCT, ...version],
    {
      env: { ...node.env, TEMPORAL_ADDRESS: address },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench worker did not connect within 60 s')), 60_000);
    worker.once('exit', (code) => reject(new Error(`the bench worker exited (${code}) before it polled`)));
    worker.stdout.on('data', (chunk) => {
      if (!String(chunk).includes('worker connected')) return;
      clearTimeout(timer);
      resolve(worker);
    });
  });
}

/** The cli path: one `sharemount lxc apply --strategy idmap` of a config naming the volume at root. */
function applyCli(node, nodeName, address, support, root) {
  node.reset();
  const config = path.join(path.dirname(node.pveDir), `phoenix-${path.basename(root)}.json`);
  const mounts = Object.fromEntries(Object.keys(CONTAINERS).map((ct) => [ct, CT_PATH]));
  fs.writeFileSync(config, JSON.stringify({ shared_volumes: { models: { host_path: root, owner: 'container_root', mounts } } }));
  const args = ['lxc', 'apply', '--config', config, '--node', nodeName, '--pve-dir', node.pveDir, '--pct', STAND_IN_PCT, '--strategy', 'idmap', '--json'];
  if (support.versionOption) args.push(support.versionOption, '6.1.6');
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cliEntry(), ...args], { env: { ...node.env, TEMPORAL_ADDRESS: address }, encoding: 'utf8', timeout: 120_000 });
  const wall = seconds(start);
  if (r.status !== 0) throw new Error(`sharemount ${args.join(' ')} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
  const missing = node.confs().filter((conf) => !/^mp\d+: .*idmap=/m.test(conf));
  if (missing.length) throw new Error(`the CLI's idmap apply left ${missing.length} container(s) without idmap=:\n${missing.join('\n')}`);
  return { wall };
}

/** No chown happened: the root's and one deep entry's ctime are what they were (a chown sets ctime). */
function untouched(root) {
  const deep = (() => {
    const first = fs.readdirSync(root).sort()[0];
    return first ? path.join(root, first) : root;
  })();
  const before = [root, deep].map((p) => fs.lstatSync(p).ctimeMs);
  return () => {
    const after = [root, deep].map((p) => fs.lstatSync(p).ctimeMs);
    if (after.some((t, i) => t !== before[i])) throw new Error(`the idmap apply changed ${root} (ctime moved): it must not touch the tree`);
  };
}

/**
 * The idmap strategy's apply on `root` (already owned 100000:100000) and on an empty volume, two runs each.
 * Returns { path, tree: {wall, …}, empty: {wall, …} } with each figure the faster of its two runs.
 */
async function measureIdmapApply(root) {
  const base = scratch('idmap');
  const empty = path.join(base, 'empty-volume');
  fs.mkdirSync(empty);
  fs.chownSync(empty, DISK_OWNER.uid, DISK_OWNER.gid);
  const node = standInNode(base);
  const support = cliSupport();
  const check = untouched(root);
  const best = (runs) => runs.reduce((a, b) => (b.wall < a.wall ? b : a));
  let server;
  let worker;
  try {
    let apply;
    if (support.strategy) {
      const nodeName = `bench${process.pid}`;
      server = await devServer();
      worker = await startWorker(node, nodeName, server.address, support);
      apply = (volume) => applyCli(node, nodeName, server.address, support, volume);
      apply(empty); // the first workflow of a fresh server also pays for its namespace's caches
    } else {
      apply = (volume) => applyDirect(node, volume);
    }
    const figures = { path: support.strategy ? 'cli' : 'direct', tree: best([apply(root), apply(root)]), empty: best([apply(empty), apply(empty)]) };
    check();
    return figures;
  } finally {
    if (worker) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => (worker.exitCode === null ? worker.once('exit', resolve) : resolve()));
    }
    if (server) await server.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/** How the measured path is named in the table. */
const PATH_LABEL = {
  cli: 'sharemount lxc apply --strategy idmap (CLI → Temporal → worker → stand-in pct)',
  direct: 'stand-in pct set ×2 + root owner stat, direct (this CLI has no --strategy yet)',
};

module.exports = { measureIdmapApply, PATH_LABEL };
