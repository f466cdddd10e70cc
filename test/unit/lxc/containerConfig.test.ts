import { ContainerConfigError, parseContainerConfig } from '../../../src/domain/lxc/containerConfig';
import { idMapOf, IdmapError, mapId, mappedRoot } from '../../../src/domain/lxc/idmap';

const FILE = '/etc/pve/lxc/950.conf';

function parse(text: string) {
  return parseContainerConfig(text, FILE);
}

function configError(text: string): ContainerConfigError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ContainerConfigError);
    return error as ContainerConfigError;
  }
  throw new Error('expected a ContainerConfigError');
}

const REAL = `# vLLM server
#   with a description
arch: amd64
cores: 8
features: nesting=1
hostname: vllm
lxc.cgroup2.devices.allow: c 195:* rwm
lxc.idmap: u 0 100000 1000
lxc.idmap: g 0 100000 1000
lxc.idmap: u 1000 1000 1
lxc.idmap: g 1000 1000 1
lxc.idmap: u 1001 101001 64535
lxc.idmap: g 1001 101001 64535
memory: 32768
mp0: /mnt/pve/fastData/shared-bulk-data/vllm_models,mp=/vllm_models
mp1: local-lvm:vm-950-disk-1,mp=/data,backup=1,size=32G
net0: name=eth0,bridge=vmbr0,ip=dhcp
rootfs: local-lvm:vm-950-disk-0,size=64G
unprivileged: 1

[pve:pending]
mp0: /mnt/pve/other,mp=/vllm_models
delete: mp1

[before-upgrade]
mp0: /old,mp=/vllm_models
mp7: /snapshot-only,mp=/x
unprivileged: 0
`;

describe('parseContainerConfig', () => {
  it('reads the main section, collects [pve:pending] apart and ignores snapshots', () => {
    const config = parse(REAL);
    expect(config.unprivileged).toBe(true);
    expect(config.mountPoints.map((m) => [m.slot, m.volume, m.containerPath])).toEqual([
      [0, '/mnt/pve/fastData/shared-bulk-data/vllm_models', '/vllm_models'],
      [1, 'local-lvm:vm-950-disk-1', '/data'],
    ]);
    expect(config.mountPoints[1].options).toEqual({ backup: '1', size: '32G' });
    expect(config.pendingMountPoints.map((m) => [m.slot, m.volume])).toEqual([[0, '/mnt/pve/other']]);
    expect(config.pendingDeletes).toEqual(['mp1']);
    expect(config.idmap).toHaveLength(6);
    expect(config.idmap[2]).toEqual({ kind: 'u', containerStart: 1000, hostStart: 1000, count: 1, line: 10 });
  });

  it('treats a plain [pending] header as a snapshot of that name, as Proxmox does', () => {
    const config = parse('mp0: /a,mp=/a\n\n[pending]\nmp1: /b,mp=/b\n\n[PVE:PENDING]\nmp2: /c,mp=/c\n');
    expect(config.mountPoints.map((m) => m.slot)).toEqual([0]);
    expect(config.pendingMountPoints.map((m) => m.slot)).toEqual([2]);
  });

  it('accepts the volume written as volume=… in any position, and the legacy lxc.id_map key', () => {
    const config = parse('mp3: mp=/x,volume=/srv/x,ro=1\nlxc.id_map = u 0 200000 65536\n');
    expect(config.mountPoints[0]).toMatchObject({ slot: 3, volume: '/srv/x', containerPath: '/x', options: { ro: '1' } });
    expect(config.idmap[0]).toMatchObject({ kind: 'u', containerStart: 0, hostStart: 200000, count: 65536 });
  });

  it('is privileged unless it says unprivileged: 1', () => {
    expect(parse('arch: amd64\n').unprivileged).toBe(false);
    expect(parse('unprivileged: 0\n').unprivileged).toBe(false);
  });

  it.each([
    ['lxc.idmap: u 0 100000\n', 1, /u\|g <container-start> <host-start> <count>/],
    ['arch: amd64\nlxc.idmap: x 0 100000 65536\n', 2, /lxc.idmap must be/],
    ['lxc.idmap: u 0 -1 65536\n', 1, /lxc.idmap must be/],
    ['lxc.idmap: u 0 100000 0\n', 1, /empty/],
    ['lxc.id_map: g a b c\n', 1, /lxc.id_map must be/],
    ['mp0: /srv/a\n', 1, /mp0 must be "<volume>,mp=<container path>/],
    ['mp0: mp=/a\n', 1, /mp0 must be/],
    ['mp256: /srv/a,mp=/a\n', 1, /beyond mp255/],
    ['mp0: /a,mp=/a\nmp0: /b,mp=/b\n', 2, /appears twice/],
    ['unprivileged: yes\n', 1, /0 or 1/],
    ['\n\nthis is not a config line\n', 3, /not a "key: value" line/],
  ])('names the file and line of a malformed line: %p', (text, line, problem) => {
    const error = configError(text);
    expect(error.file).toBe(FILE);
    expect(error.line).toBe(line);
    expect(error.message).toMatch(new RegExp(`^${FILE}:${line}: `));
    expect(error.problem).toMatch(problem);
  });
});

describe('idmap', () => {
  it('unprivileged without lines: Proxmox default 0 100000 65536 for uid and gid', () => {
    const map = idMapOf(parse('unprivileged: 1\n'));
    expect(map.source).toBe('proxmox-default');
    expect(mappedRoot(map, FILE)).toEqual({ uid: 100000, gid: 100000 });
    expect(mapId(map.uid, 65535)).toBe(165535);
    expect(mapId(map.uid, 65536)).toBeUndefined();
  });

  it('privileged without lines: identity', () => {
    const map = idMapOf(parse('arch: amd64\n'));
    expect(map.source).toBe('privileged-identity');
    expect(mappedRoot(map, FILE)).toEqual({ uid: 0, gid: 0 });
    expect(mapId(map.gid, 3000)).toBe(3000);
  });

  it('several ranges with a passthrough hole', () => {
    const map = idMapOf(parse(REAL));
    expect(map.source).toBe('lxc.idmap');
    expect(mapId(map.uid, 0)).toBe(100000);
    expect(mapId(map.uid, 999)).toBe(100999);
    expect(mapId(map.uid, 1000)).toBe(1000);
    expect(mapId(map.uid, 1001)).toBe(101001);
    expect(mapId(map.uid, 65535)).toBe(165535);
    expect(mapId(map.uid, 65536)).toBeUndefined();
  });

  it('u and g may differ', () => {
    const map = idMapOf(parse('unprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 200000 65536\n'));
    expect(mappedRoot(map, FILE)).toEqual({ uid: 100000, gid: 200000 });
  });

  it('lines replace the default even in an unprivileged container', () => {
    const map = idMapOf(parse('unprivileged: 1\nlxc.idmap: u 0 300000 65536\nlxc.idmap: g 0 300000 65536\n'));
    expect(mappedRoot(map, FILE)).toEqual({ uid: 300000, gid: 300000 });
  });

  it('an unmapped root is an error, never a guess', () => {
    const onlyUid = idMapOf(parse('unprivileged: 1\nlxc.idmap: u 0 100000 65536\n'));
    expect(() => mappedRoot(onlyUid, FILE)).toThrow(IdmapError);
    expect(() => mappedRoot(onlyUid, FILE)).toThrow(/gid 0 is outside every lxc.idmap range/);
    const rootNotCovered = idMapOf(parse('lxc.idmap: u 1 100001 65535\nlxc.idmap: g 0 100000 65536\n'));
    expect(() => mappedRoot(rootNotCovered, FILE)).toThrow(/uid 0 is outside/);
  });

  it.each([
    ['container side', 'lxc.idmap: u 0 100000 1000\nlxc.idmap: u 999 200000 10\n', /lines 1 and 2 overlap on the container side/],
    ['host side', 'lxc.idmap: g 0 100000 1000\nlxc.idmap: g 1000 100500 10\n', /lines 1 and 2 overlap on the host side/],
  ])('overlapping ranges on the %s are an error', (_, text, problem) => {
    expect(() => idMapOf(parse(text))).toThrow(problem);
  });
});
