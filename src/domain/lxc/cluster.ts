/**
 * The cluster files under /etc/pve that decide where a container lives and which host paths every node
 * shares: pve-cluster's `.vmlist` (JSON, written by pmxcfs), pve-storage's `storage.cfg` and pve-guest-common's
 * `replication.cfg` (both section configs: a `<type>: <id>` line, then indented `key value` lines).
 */

/** `.vmlist`: `{"version":N,"ids":{"<vmid>":{"node":"pve1","type":"lxc","version":M}}}`; only LXC guests. */
export function containerNodes(vmlist: string | undefined): Map<number, string> {
  const nodes = new Map<number, string>();
  if (vmlist === undefined) return nodes;
  let parsed: unknown;
  try {
    parsed = JSON.parse(vmlist);
  } catch {
    return nodes; // pmxcfs writes it whole; an unreadable one says nothing, and the node directories still do
  }
  const ids = (parsed as { ids?: Record<string, { node?: unknown; type?: unknown }> })?.ids ?? {};
  for (const [id, entry] of Object.entries(ids)) {
    if (entry?.type === 'lxc' && typeof entry.node === 'string' && /^\d+$/.test(id)) nodes.set(Number(id), entry.node);
  }
  return nodes;
}

interface Section {
  type: string;
  id: string;
  props: Record<string, string>;
}

/** PVE::SectionConfig's layout: a header at column 0, then tab- or space-indented properties. */
function sections(text: string): Section[] {
  const out: Section[] = [];
  let current: Section | undefined;
  for (const line of text.split('\n')) {
    const header = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (header) {
      current = { type: header[1].toLowerCase(), id: header[2], props: {} };
      out.push(current);
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (prop && current) current.props[prop[1]] = prop[2] ?? '1';
    else if (!line.trim()) current = undefined;
  }
  return out;
}

/** Storage types whose plugin marks them shared (pve-storage: the network file systems); others need `shared 1`. */
const SHARED_TYPES = new Set(['nfs', 'cifs', 'cephfs', 'glusterfs']);

/**
 * The directories that are the same on every node: each shared file storage's path (network storages are
 * mounted at /mnt/pve/<storage> unless they say otherwise).
 */
export function sharedStoragePaths(storageCfg: string | undefined): string[] {
  if (storageCfg === undefined) return [];
  return sections(storageCfg).flatMap((s) => {
    const shared = SHARED_TYPES.has(s.type) || s.props.shared === '1';
    if (!shared || s.props.disable === '1') return [];
    const dir = s.props.path ?? (SHARED_TYPES.has(s.type) ? `/mnt/pve/${s.id}` : undefined);
    return dir ? [dir.replace(/\/+$/, '')] : [];
  });
}

export function onSharedStorage(hostPath: string, shared: string[]): boolean {
  return shared.some((dir) => hostPath === dir || hostPath.startsWith(`${dir}/`));
}

/** Guests with a replication job (`<type>: <guest>-<n>` headers, as parse_section_header reads them). */
export function replicatedGuests(replicationCfg: string | undefined): number[] {
  if (replicationCfg === undefined) return [];
  const guests = new Set<number>();
  for (const line of replicationCfg.split('\n')) {
    const m = /^(\S+):\s*(\d+)-(\d+)\s*$/.exec(line);
    if (m) guests.add(Number(m[2]));
  }
  return [...guests].sort((a, b) => a - b);
}

/** What the cluster files say, as plans and the apply workflow need it. */
export interface ClusterFacts {
  sharedPaths: string[];
  replicated: number[];
}

/**
 * Where a volume's ownership walk runs: a host path on shared storage is the same directory everywhere, so on
 * the node the apply runs from; a local path exists only on its node, so all containers must be there.
 */
export function walkNodeFor(
  hostPath: string,
  containerNodes: Array<{ ctid: number; node?: string }>,
  here: string,
  cluster: ClusterFacts,
): { node: string } | { problem: string } {
  const nodes = [...new Set(containerNodes.map((c) => c.node ?? here))].sort();
  if (onSharedStorage(hostPath, cluster.sharedPaths) || nodes.length === 0) return { node: nodes.includes(here) || nodes.length === 0 ? here : nodes[0] };
  if (nodes.length === 1) return { node: nodes[0] };
  const each = containerNodes.map((c) => `CT ${c.ctid} on ${c.node ?? here}`).join(', ');
  return {
    problem: `${hostPath} is not on storage that storage.cfg marks shared, so it exists only on its own node, but the containers are on different nodes (${each}); put it on shared storage or split the volume per node`,
  };
}
