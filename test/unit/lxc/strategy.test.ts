import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { buildLxcPlan, type ContainerFacts, type LxcFacts } from '../../../src/domain/lxc/plan';
import { idmapValue, idmapValueProblem } from '../../../src/domain/lxc/idmapValue';
import { idMapOf } from '../../../src/domain/lxc/idmap';
import { parseContainerConfig } from '../../../src/domain/lxc/containerConfig';
import { parseMountPointValue } from '../../../src/domain/lxc/mountPointFormat';
import { chooseStrategy, versionAtLeast } from '../../../src/domain/lxc/strategy';

const EXT4 = 0xef53;
const NFS = 0x6969;
const HOST = '/mnt/pve/fastData/models';
const DEFAULT_MAP = 'unprivileged: 1\n';
const BASE_300000 = 'unprivileged: 1\nlxc.idmap: u 0 300000 65536\nlxc.idmap: g 0 300000 65536\n';
// A media container that passes 33 (www-data) through to the host, the rest on the default base.
const PASSTHROUGH_33 =
  'unprivileged: 1\nlxc.idmap: u 0 100000 33\nlxc.idmap: g 0 100000 33\nlxc.idmap: u 33 33 1\nlxc.idmap: g 33 33 1\nlxc.idmap: u 34 100034 65502\nlxc.idmap: g 34 100034 65502\n';

function plan(volume: Record<string, unknown>, texts: Record<number, string>, extra: Partial<LxcFacts> = {}) {
  const config = parseLxcConfig(JSON.stringify({ shared_volumes: { models: { host_path: HOST, ...volume } } }));
  const containers: ContainerFacts[] = Object.entries(texts).map(([ctid, text]) => ({
    ctid: Number(ctid),
    file: `/etc/pve/lxc/${ctid}.conf`,
    text,
    running: false,
  }));
  const facts: LxcFacts = {
    node: 'pve1',
    containers,
    hostUsers: {},
    hostPaths: { [HOST]: { path: HOST, exists: true, isDirectory: true, dev: 1, ino: 2, uid: 0, gid: 0, fsType: EXT4 } },
    pveContainerVersion: '6.1.6',
    ...extra,
  };
  return buildLxcPlan(config, facts).volumes[0];
}

describe('owners named inside the containers', () => {
  it('{ uid: 33, gid: 33 } resolves through each container map; with chown both must agree', () => {
    const v = plan({ owner: { uid: 33, gid: 33 }, strategy: 'chown', mounts: { '950': '/m' } }, { 950: DEFAULT_MAP });
    expect(v.owner).toEqual({ mode: 'container_ids', uid: 100033, gid: 100033, containerIds: { uid: 33, gid: 33 } });
    expect(v.errors).toBeUndefined();
  });

  it('an id the container does not map is an error naming the container file and its lxc.idmap lines', () => {
    const v = plan({ owner: { uid: 70000, gid: 33 }, strategy: 'chown', mounts: { '950': '/m' } }, { 950: BASE_300000 });
    expect(v.owner).toBeNull();
    expect(v.errors).toEqual([
      {
        field: 'shared_volumes.models.mounts.950',
        problem: expect.stringMatching(/950\.conf: container uid 70000 is outside its lxc.idmap lines \(u 0 300000 65536, g 0 300000 65536\)/),
      },
    ]);
  });

  it('mixed maps with chown are refused, naming the per-mount idmap that would solve it', () => {
    const v = plan({ owner: 'container_root', strategy: 'chown', mounts: { '950': '/m', '951': '/m' } }, { 950: DEFAULT_MAP, 951: BASE_300000 });
    expect(v.errors).toEqual([
      { field: 'shared_volumes.models.owner', problem: expect.stringMatching(/"strategy": "idmap" \(Proxmox VE 9\.2's per-mount idmap=/) },
    ]);
  });
});

describe('the idmap strategy', () => {
  it('solves mixed maps: every container maps its root to one disk owner, the first container’s own ids', () => {
    const v = plan({ owner: 'container_root', mounts: { '950': '/m', '951': '/m' } }, { 950: DEFAULT_MAP, 951: BASE_300000 });
    expect(v.errors).toBeUndefined();
    expect(v.strategy).toEqual({ name: 'idmap', requested: 'auto', reason: expect.stringMatching(/^auto: idmap \(pve-container 6\.1\.6/) });
    expect(v.owner).toEqual({ mode: 'container_root', uid: 100000, gid: 100000, containerIds: { uid: 0, gid: 0 } });
    expect(v.note).toMatch(/disk owner: CT 950's own mapping/);
    expect(v.containers.map((c) => [c.ctid, c.mount, c.options])).toEqual([
      [950, 'new', { mountoptions: 'nosuid;nodev', idmap: 'u:0:100000:1;g:0:100000:1' }],
      [951, 'new', { mountoptions: 'nosuid;nodev', idmap: 'u:0:100000:1;g:0:100000:1' }],
    ]);
  });

  it('keeps the tree’s current owner as the disk owner when it is not host root, so nothing moves', () => {
    const hostPaths = { [HOST]: { path: HOST, exists: true, isDirectory: true, dev: 1, ino: 2, uid: 5000, gid: 5001, fsType: EXT4 } };
    const v = plan({ owner: { uid: 33, gid: 33 }, mounts: { '950': '/m', '951': '/m' } }, { 950: DEFAULT_MAP, 951: PASSTHROUGH_33 }, { hostPaths });
    expect(v.owner).toMatchObject({ uid: 5000, gid: 5001 });
    expect(v.containers.map((c) => c.options?.idmap)).toEqual(['u:33:5000:1;g:33:5001:1', 'u:33:5000:1;g:33:5001:1']);
  });

  it('a container-side owner in a passthrough container and one on the default map share one disk owner', () => {
    const v = plan({ owner: { uid: 33, gid: 33 }, mounts: { '950': '/m', '951': '/m' } }, { 950: PASSTHROUGH_33, 951: DEFAULT_MAP });
    expect(v.errors).toBeUndefined();
    expect(v.owner).toMatchObject({ uid: 33, gid: 33 });
  });

  it('refuses host root as disk owner, and a disk owner the container already uses for another id', () => {
    const root = plan({ owner: 'container_root', disk_owner: { uid: 0, gid: 0 }, mounts: { '950': '/m' } }, { 950: DEFAULT_MAP });
    expect(root.errors).toEqual([{ field: 'shared_volumes.models.disk_owner', problem: expect.stringMatching(/host root/) }]);
    // 100000 is container root's host id on the default map, so www-data cannot have it on disk too.
    const clash = plan({ owner: { uid: 33, gid: 33 }, disk_owner: { uid: 100000, gid: 100000 }, mounts: { '950': '/m' } }, { 950: DEFAULT_MAP });
    expect(clash.errors).toEqual([
      { field: 'shared_volumes.models.mounts.950', problem: expect.stringMatching(/disk uid 100000 would stand for two host ids/) },
    ]);
  });

  it('auto falls back to chown, saying why: an old pve-container, NFS, a privileged container, a host-user owner', () => {
    const old = plan({ owner: 'container_root', mounts: { '950': '/m' } }, { 950: DEFAULT_MAP }, { pveContainerVersion: '6.1.5' });
    expect(old.strategy).toEqual({
      name: 'chown',
      requested: 'auto',
      reason: expect.stringMatching(/pve-container 6\.1\.5 has no per-mount idmap \(needs 6\.1\.6/),
    });
    expect(old.containers[0].options).toBeUndefined();
    const nfs = { [HOST]: { path: HOST, exists: true, isDirectory: true, dev: 1, ino: 2, uid: 0, gid: 0, fsType: NFS } };
    expect(plan({ owner: 'container_root', mounts: { '950': '/m' } }, { 950: DEFAULT_MAP }, { hostPaths: nfs }).strategy.reason).toMatch(
      /on nfs, which does not take idmapped mounts/,
    );
    expect(plan({ owner: 'container_root', mounts: { '950': '/m' } }, { 950: 'arch: amd64\n' }).strategy.reason).toMatch(/CT 950 is privileged/);
  });

  it('strategy idmap where it cannot work is a plan error with each reason; --strategy overrides the config', () => {
    const v = plan(
      { owner: 'container_root', strategy: 'idmap', mounts: { '950': '/m' } },
      { 950: DEFAULT_MAP },
      { pveContainerVersion: undefined, pveContainerVersionProblem: 'dpkg-query: no packages found matching pve-container' },
    );
    expect(v.errors).toEqual([
      {
        field: 'shared_volumes.models.strategy',
        problem: expect.stringMatching(/idmap cannot be used: the pve-container version is unknown \(dpkg-query: no packages found.*--pve-container-version/),
      },
    ]);
  });

  it('an existing mount with another idmap is drift; on a running container the rewrite is said to wait for a restart', () => {
    const text = `unprivileged: 1\nmp0: ${HOST},mp=/m,idmap=u:0:200000:1;g:0:200000:1\n`;
    const config = parseLxcConfig(JSON.stringify({ shared_volumes: { models: { host_path: HOST, owner: 'container_root', mounts: { '950': '/m' } } } }));
    const v = buildLxcPlan(config, { containers: [{ ctid: 950, file: '950.conf', text, running: true }], hostUsers: {}, pveContainerVersion: '6.1.6' })
      .volumes[0];
    expect(v.containers[0]).toMatchObject({ mount: 'drift', differs: ['idmap=u:0:200000:1;g:0:200000:1 (config: idmap=u:0:100000:1;g:0:100000:1)'] });
    expect(v.warnings).toEqual([{ field: 'shared_volumes.models.mounts.950', problem: expect.stringMatching(/waits in \[pve:pending\] until it restarts/) }]);
  });
});

describe('idmap values', () => {
  it('always pass pve-container’s own idmap pattern and parse back as the same ranges', () => {
    const value = idmapValue({ uid: 33, gid: 33 }, { uid: 100033, gid: 100033 });
    const parsed = parseMountPointValue(`/srv/m,mp=/m,idmap=${value}`);
    expect(parsed).toMatchObject({
      ok: true,
      mount: {
        idmap: [
          { kind: 'u', containerStart: 33, diskStart: 100033, count: 1 },
          { kind: 'g', containerStart: 33, diskStart: 100033, count: 1 },
        ],
      },
    });
  });

  it('a disk id the container maps from another id is refused, as the kernel would refuse the map', () => {
    const map = idMapOf(parseContainerConfig(DEFAULT_MAP, '950.conf'));
    expect(idmapValueProblem(map, 'u:0:100001:1;g:0:100001:1')).toMatch(/disk uid 100001/);
    expect(idmapValueProblem(map, 'u:0:5000:1;g:0:5000:1')).toBeUndefined();
  });
});

describe('chooseStrategy and versions', () => {
  it.each([
    ['6.1.6', true],
    ['6.1.7', true],
    ['6.2.0~bpo12', true],
    ['6.1.5', false],
    ['5.3.9', false],
    ['6.1', false],
  ])('pve-container %s has the per-mount idmap: %p', (version, ok) => {
    expect(versionAtLeast(version, '6.1.6')).toBe(ok);
  });

  it('chown asked for is chown, whatever the node offers', () => {
    expect(chooseStrategy('chown', { owner: { kind: 'container_root' }, pveContainerVersion: '6.1.6', fsType: EXT4, privileged: [] })).toMatchObject({
      strategy: 'chown',
      blockers: [],
    });
  });
});
