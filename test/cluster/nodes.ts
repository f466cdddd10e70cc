/**
 * Proxmox nodes for the cluster suite, as separate hosts: each node is a network namespace joined by a veth
 * pair to a bridge on the host, whose address `sharemount server` binds, so a node reaches the server only
 * over that link. `ip netns exec` gives each node its own mount namespace too, where the shared storage is
 * mounted at /mnt/pve/<storage> as every node of a real cluster mounts its NFS storage there.
 *
 * /etc/pve is one cluster store seen by every node, as pmxcfs serves it: nodes/<node>/lxc/<ctid>.conf,
 * .vmlist and storage.cfg are the same files everywhere, and a node's own view adds `local` → nodes/<node>
 * and `lxc` → nodes/<node>/lxc (pve-cluster's pmxcfs.c create_symlinks, run with this node's name). The
 * stand-in pct of a node reads and writes nodes/<its name>/lxc only, as pve-container's load_config does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scratchDir } from '../integration/lxc-support';

export interface ClusterNetwork {
  /** The host's address on the bridge: where the server listens for the nodes. */
  serverIp: string;
  /** Each node's network namespace and its address in it. */
  nodes: Array<{ namespace: string; ip: string }>;
  remove(): void;
}

const ip = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });

/** A /24 in 10.0.0.0/8 that no interface or route of this host uses (other suites may run beside this one). */
function freeSubnet(seed: number): string {
  const used = ip(['-4', '-o', 'addr']) + ip(['-4', 'route']);
  for (let attempt = 0; attempt < 200; attempt++) {
    const n = seed + attempt * 7919;
    const prefix = `10.${100 + (n % 150)}.${(n >> 3) % 256}`;
    if (!new RegExp(`(^|[^\\d.])${prefix.replace(/\./g, '\\.')}\\.`, 'm').test(used)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the cluster suite');
}

/** A bridge on the host and `count` namespaces on it; everything it made is removed by remove(), even half made. */
export function createClusterNetwork(count: number): ClusterNetwork {
  // Interface names have 15 characters at most.
  const id = `sm${process.pid % 100_000}`;
  const bridge = `${id}br`;
  const made: Array<() => void> = [];
  const remove = () => {
    for (const undo of made.reverse()) undo();
    made.length = 0;
  };
  try {
    const subnet = freeSubnet(process.pid);
    const serverIp = `${subnet}.1`;
    ip(['link', 'add', bridge, 'type', 'bridge']);
    made.push(() => spawnSync('ip', ['link', 'del', bridge], { stdio: 'pipe' }));
    ip(['addr', 'add', `${serverIp}/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    const nodes = Array.from({ length: count }, (_, i) => {
      const namespace = `${id}n${i}`;
      const hostEnd = `${id}h${i}`;
      const nodeIp = `${subnet}.${10 + i}`;
      ip(['netns', 'add', namespace]);
      // Deleting the namespace deletes its end of the pair, and with it the host's end.
      made.push(() => spawnSync('ip', ['netns', 'del', namespace], { stdio: 'pipe' }));
      ip(['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      ip(['link', 'set', hostEnd, 'master', bridge, 'up']);
      const inNode = (args: string[]) => ip(['-n', namespace, ...args]);
      inNode(['link', 'set', 'lo', 'up']);
      inNode(['addr', 'add', `${nodeIp}/24`, 'dev', 'eth0']);
      inNode(['link', 'set', 'eth0', 'up']);
      inNode(['route', 'add', 'default', 'via', serverIp]);
      return { namespace, ip: nodeIp };
    });
    return { serverIp, nodes, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * The command a node's process runs under: in the node's namespace, with the shared storage's directory
 * bound at its /mnt/pve path (over a tmpfs on /mnt, so the host's /mnt is left as it is). The paths reach
 * the shell as arguments, never inside the script.
 */
export function onNode(namespace: string, storageMount: string, sharedDir: string): string[] {
  const script = 'mount -t tmpfs -o mode=0755 sharemount-node /mnt && mkdir -p "$1" && mount --bind "$2" "$1" && shift 2 && exec "$@"';
  return ['ip', 'netns', 'exec', namespace, 'sh', '-c', script, 'sh', storageMount, sharedDir];
}

/** A command run beside a node's running process, in its network and mount namespaces (an operator's shell on it). */
export function besideProcess(pid: number): string[] {
  return ['nsenter', '-t', String(pid), '-n', '-m', '--'];
}

export interface ClusterStore {
  /** The pmxcfs content itself. */
  dir: string;
  /** The storage every node mounts at /mnt/pve/<storage>, and the directory that plays its NFS export. */
  storage: string;
  storageMount: string;
  sharedDir: string;
  conf(node: string, ctid: number): string;
  /** A node's /etc/pve: the store's files, `lxc` and `local` for this node, and the stand-in's running/. */
  view(node: string): string;
  remove(): void;
}

/** nodes/<node>/lxc/<ctid>.conf for each node's containers, .vmlist naming their nodes, storage.cfg with one NFS storage. */
export function makeClusterStore(containers: Record<string, Record<number, { conf: string; running?: boolean }>>): ClusterStore {
  const dir = scratchDir('pmxcfs');
  const sharedDir = scratchDir('nfs-export');
  const storage = `smnfs${process.pid}`;
  const storageMount = `/mnt/pve/${storage}`;
  const views = new Map<string, string>();
  const ids: Record<string, { node: string; type: 'lxc'; version: number }> = {};
  for (const [node, guests] of Object.entries(containers)) {
    fs.mkdirSync(path.join(dir, 'nodes', node, 'lxc'), { recursive: true });
    const view = scratchDir(`pve-${node}`);
    fs.mkdirSync(path.join(view, 'running'));
    for (const [ctid, { conf, running }] of Object.entries(guests)) {
      fs.writeFileSync(path.join(dir, 'nodes', node, 'lxc', `${ctid}.conf`), conf);
      ids[ctid] = { node, type: 'lxc', version: 1 };
      if (running) fs.writeFileSync(path.join(view, 'running', ctid), '');
    }
    for (const shared of ['nodes', '.vmlist', 'storage.cfg']) fs.symlinkSync(path.join(dir, shared), path.join(view, shared));
    fs.symlinkSync(`nodes/${node}/lxc`, path.join(view, 'lxc'));
    fs.symlinkSync(`nodes/${node}`, path.join(view, 'local'));
    views.set(node, view);
  }
  fs.writeFileSync(path.join(dir, '.vmlist'), JSON.stringify({ version: 1, ids }));
  // An NFS storage: shared by its type (pve-storage's Plugin.pm @SHARED_STORAGE, which parse_config marks
  // shared), its path the /mnt/pve/<storage> that NFSPlugin's check_config gives a new one.
  fs.writeFileSync(
    path.join(dir, 'storage.cfg'),
    `dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nnfs: ${storage}\n\texport /export/${storage}\n\tpath ${storageMount}\n\tserver 10.0.0.5\n\tcontent rootdir\n`,
  );
  return {
    dir,
    storage,
    storageMount,
    sharedDir,
    conf: (node, ctid) => fs.readFileSync(path.join(dir, 'nodes', node, 'lxc', `${ctid}.conf`), 'utf8'),
    view(node) {
      const view = views.get(node);
      if (!view) throw new Error(`no node ${node} in the cluster store`);
      return view;
    },
    remove() {
      for (const d of [dir, sharedDir, ...views.values()]) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
