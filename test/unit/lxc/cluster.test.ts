/**
 * A two-node cluster as /etc/pve shows it on every node (test/fixtures/pve/cluster): pve-cluster's .vmlist,
 * configs under nodes/<node>/lxc, pve-storage's storage.cfg and pve-guest-common's replication.cfg.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerNodes, replicatedGuests, sharedStoragePaths, walkNodeFor } from '../../../src/domain/lxc/cluster';
import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { buildLxcPlan } from '../../../src/domain/lxc/plan';
import { gatherLxcFacts } from '../../../src/host/proxmox/facts';
import { proxmoxNode } from '../../../src/host/proxmox/node';

const CLUSTER = path.join(__dirname, '..', '..', 'fixtures', 'pve', 'cluster');
const read = (name: string) => fs.readFileSync(path.join(CLUSTER, name), 'utf8');

describe('the cluster files', () => {
  it('.vmlist names the node of each LXC guest (a VM is no container)', () => {
    expect([...containerNodes(read('.vmlist'))]).toEqual([
      [201, 'pve1'],
      [202, 'pve2'],
    ]);
    expect(containerNodes('{not json').size).toBe(0);
  });

  it('storage.cfg: network storages and `shared 1` are the same directory on every node', () => {
    expect(sharedStoragePaths(read('storage.cfg'))).toEqual(['/mnt/pve/tank', '/mnt/bulk']);
  });

  it('replication.cfg: the guests with a job', () => {
    expect(replicatedGuests(read('replication.cfg'))).toEqual([202]);
  });

  it('the walk runs here for a shared path, on the containers own node for a local one, and nowhere when they differ', () => {
    const cluster = { sharedPaths: ['/mnt/pve/tank'], replicated: [] };
    const two = [
      { ctid: 201, node: 'pve1' },
      { ctid: 202, node: 'pve2' },
    ];
    expect(walkNodeFor('/mnt/pve/tank/share', two, 'pve1', cluster)).toEqual({ node: 'pve1' });
    expect(walkNodeFor('/srv/local', [{ ctid: 202, node: 'pve2' }], 'pve1', cluster)).toEqual({ node: 'pve2' });
    expect(walkNodeFor('/srv/local', two, 'pve1', cluster)).toEqual({ problem: expect.stringMatching(/CT 201 on pve1, CT 202 on pve2/) });
    expect(walkNodeFor('/mnt/pve/tankX/share', two, 'pve1', cluster)).toHaveProperty('problem');
  });
});

describe('a plan on a two-node cluster', () => {
  const runningDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-cluster-running-'));
  afterAll(() => fs.rmSync(runningDir, { recursive: true, force: true }));
  const plan = async (volumes: object, nodeName: string) => {
    const config = parseLxcConfig(JSON.stringify({ shared_volumes: volumes }));
    const facts = await gatherLxcFacts(config, proxmoxNode({ pveDir: CLUSTER, nodeName, runningDir, pct: '/bin/false' }), nodeName);
    // The volumes' host paths do not exist on this machine; the plan is asked only about the cluster here.
    return buildLxcPlan(config, { ...facts, hostPaths: undefined });
  };

  it("reads each container from its own node's directory, and says each container's node", async () => {
    const result = await plan({ share: { host_path: '/mnt/pve/tank/share', owner: 'container_root', mounts: { '201': '/share', '202': '/share' } } }, 'pve1');
    expect(result.ok).toBe(true);
    expect(result.volumes[0]).toMatchObject({ walkNode: 'pve1', owner: { uid: 100000, gid: 100000 } });
    expect(result.volumes[0].containers.map((c) => [c.ctid, c.node, c.mount, c.running])).toEqual([
      [201, 'pve1', 'new', false],
      [202, 'pve2', 'new', null],
    ]);
    expect(result.containers.map((c) => [c.file, c.node])).toEqual([
      [path.join(CLUSTER, 'nodes', 'pve1', 'lxc', '201.conf'), 'pve1'],
      [path.join(CLUSTER, 'nodes', 'pve2', 'lxc', '202.conf'), 'pve2'],
    ]);
    expect(result.containers[1].warnings).toEqual([
      { file: expect.stringContaining('202.conf'), problem: expect.stringMatching(/on node pve2, and pct status answers only for pve1/) },
    ]);
  });

  it("--node pve2 plans as pve2: its own container has a state, the other node's not", async () => {
    const result = await plan({ share: { host_path: '/mnt/pve/tank/share', mounts: { '201': '/share', '202': '/share' } } }, 'pve2');
    expect(result.node).toBe('pve2');
    expect(result.volumes[0].containers.map((c) => c.running)).toEqual([null, false]);
  });

  it('a local path mounted by containers on two nodes is an error that says so', async () => {
    const result = await plan({ local: { host_path: '/srv/local', mounts: { '201': '/local', '202': '/local' } } }, 'pve1');
    expect(result.ok).toBe(false);
    expect(result.volumes[0].errors).toEqual([
      {
        field: 'shared_volumes.local.host_path',
        problem: expect.stringMatching(/not on storage that storage.cfg marks shared.*CT 201 on pve1, CT 202 on pve2/),
      },
    ]);
  });

  it('a container on no node is an error naming where it looked', async () => {
    const result = await plan({ share: { host_path: '/mnt/pve/tank/share', mounts: { '299': '/share' } } }, 'pve1');
    expect(result.volumes[0].errors).toEqual([
      {
        field: 'shared_volumes.share.mounts.299',
        problem: expect.stringMatching(
          /container 299 is on no node of this cluster \(looked in .*\.vmlist \(no entry\), .*nodes\/pve1\/lxc\/299.conf, .*nodes\/pve2\/lxc\/299.conf\)/,
        ),
      },
    ]);
  });
});
