import { parseContainerConfig } from '../../../src/domain/lxc/containerConfig';
import { idMapOf, IdmapError, mapId, mappedRoot, mountRoot } from '../../../src/domain/lxc/idmap';
import { parseMountPointValue } from '../../../src/domain/lxc/mountPointFormat';

const FILE = '/etc/pve/lxc/950.conf';

function parse(text: string) {
  return parseContainerConfig(text, FILE);
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

describe('parseContainerConfig (PVE::LXC::Config::parse_pct_config)', () => {
  it('reads the main section, collects [pve:pending] apart and ignores snapshots', () => {
    const config = parse(REAL);
    expect(config.unprivileged).toBe(true);
    expect(config.mountPoints.map((m) => [m.slot, m.parsed?.volume, m.parsed?.containerPath, m.parsed?.type])).toEqual([
      [0, '/mnt/pve/fastData/shared-bulk-data/vllm_models', '/vllm_models', 'bind'],
      [1, 'local-lvm:vm-950-disk-1', '/data', 'volume'],
    ]);
    expect(config.mountPoints[1].parsed?.options).toEqual({ backup: '1', size: '32G' });
    expect(config.pendingMountPoints.map((m) => [m.slot, m.parsed?.volume])).toEqual([[0, '/mnt/pve/other']]);
    expect(config.pendingDeletes).toEqual(['mp1']);
    expect(config.idmap).toHaveLength(6);
    expect(config.idmap[2]).toEqual({ kind: 'u', containerStart: 1000, hostStart: 1000, count: 1, line: 10 });
    expect(config.warnings).toEqual([]);
  });

  it('treats a plain [pending] header as a snapshot of that name, as Proxmox does', () => {
    const config = parse('mp0: /a,mp=/a\n\n[pending]\nmp1: /b,mp=/b\n\n[PVE:PENDING]\nmp2: /c,mp=/c\n');
    expect(config.mountPoints.map((m) => m.slot)).toEqual([0]);
    expect(config.pendingMountPoints.map((m) => m.slot)).toEqual([2]);
  });

  it('accepts the volume written as volume=… in any position; warns that lxc.id_map is not applied', () => {
    const config = parse('mp3: mp=/x,volume=/srv/x,ro=1\nlxc.id_map = u 0 200000 65536\n');
    expect(config.mountPoints[0]).toMatchObject({ slot: 3, parsed: { volume: '/srv/x', containerPath: '/x', ro: true } });
    expect(config.idmap).toEqual([]);
    expect(config.warnings).toEqual([{ file: FILE, line: 2, problem: expect.stringMatching(/lxc.id_map is deprecated and was renamed to lxc.idmap/) }]);
  });

  it('warns about lxc.* keys as is_valid_lxc_conf_key does: renamed, deprecated, refused and unknown; current ones pass silently', () => {
    const text = [
      'lxc.cgroup2.devices.allow: c 195:* rwm',
      'lxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file',
      'lxc.prlimit.nofile = 65536',
      'lxc.net.0.type: veth',
      'lxc.aa_profile: unconfined',
      'lxc.limit.nofile: 1024',
      'lxc.cgroup.devices.allow: a',
      'lxc.rootfs.options: noatime',
      'lxc.frobnicate: 1',
      '',
    ].join('\n');
    expect(parse(text).warnings).toEqual([
      { file: FILE, line: 5, problem: 'lxc.aa_profile is deprecated and was renamed to lxc.apparmor.profile' },
      { file: FILE, line: 6, problem: 'lxc.limit.nofile: lxc.limit.* was renamed to lxc.prlimit.*' },
      { file: FILE, line: 7, problem: 'lxc.cgroup.devices.allow is deprecated, this will be a hard error in the future!' },
      { file: FILE, line: 8, problem: 'lxc.rootfs.options: lxc.rootfs.options is not supported, please use mount point options in the "rootfs" key' },
      { file: FILE, line: 9, problem: 'unable to parse config: lxc.frobnicate: 1' },
    ]);
  });

  it('reads booleans as check_type does: 1/on/yes/true and 0/off/no/false, any case; other words are warned and kept truthy', () => {
    expect(parse('unprivileged: yes\n').unprivileged).toBe(true);
    expect(parse('unprivileged: TRUE\n').unprivileged).toBe(true);
    expect(parse('unprivileged: off\n').unprivileged).toBe(false);
    expect(parse('arch: amd64\n').unprivileged).toBe(false);
    const odd = parse('unprivileged: maybe\n');
    expect(odd.unprivileged).toBe(true);
    expect(odd.warnings[0]).toMatchObject({ line: 1, problem: expect.stringMatching(/type check \('boolean'\) failed - got 'maybe'/) });
  });

  it('warns, never refuses, what Proxmox only warns about; each warning names its line', () => {
    const config = parse(
      [
        'arch: amd64',
        'this is not a config line',
        '  # indented is no comment',
        'mp0 = /a,mp=/a',
        'mp256: /b,mp=/b',
        'mp1: /c,mp=/c,',
        'mp2: /d,uid=1000,mp=/d',
        'delete: mp1',
        'mp1: /e,mp=/e',
      ].join('\n'),
    );
    expect(config.warnings.map((w) => [w.line, w.problem.slice(0, 40)])).toEqual([
      [2, 'unable to parse config: this is not a co'],
      [3, 'unable to parse config:   # indented is '],
      [4, 'unable to parse config: mp0 = /a,mp=/a'],
      [5, "unknown setting 'mp256' (mount points en"],
      [7, "unable to parse value of 'mp2' - invalid"],
      [8, "property 'delete' is only allowed in [pv"],
    ]);
    // A trailing comma is an empty part, skipped; the key written twice: the last one counts.
    expect(config.mountPoints.map((m) => [m.slot, m.parsed?.volume ?? null, m.line])).toEqual([
      [1, '/e', 9],
      [2, null, 7],
    ]);
    expect(config.mountPoints[1].problem).toMatch(/invalid key in comma-separated list property: uid/);
  });

  it('reads protection and lock, which make pct refuse changes', () => {
    const config = parse('protection: 1\nlock: backup\n');
    expect(config).toMatchObject({ protection: true, lock: 'backup' });
  });
});

describe('parseMountPointValue (pve-common parse_property_string over $mp_desc)', () => {
  it.each([
    ['/srv/a,mp=/a', { volume: '/srv/a', containerPath: '/a', type: 'bind', ro: false }],
    ['/dev/sdb1,mp=/disk', { type: 'device' }],
    ['local-zfs:subvol-101-disk-1,mp=/data,size=8G', { type: 'volume', options: { size: '8G' } }],
    ['/srv/a,mp=/a,ro=yes,backup=off', { ro: true, options: { ro: '1', backup: '0' } }],
    [',/srv/a,,mp=/a,', { volume: '/srv/a' }],
    ['/srv/a,mp=/a,idmap=passthrough', { idmap: 'passthrough' }],
    [
      '/srv/a,mp=/a,idmap=u:0:5000:1;g:0:5000:1',
      {
        idmap: [
          { kind: 'u', containerStart: 0, diskStart: 5000, count: 1 },
          { kind: 'g', containerStart: 0, diskStart: 5000, count: 1 },
        ],
      },
    ],
    ['/srv/a,mp=/a,mountoptions=nosuid;nodev;noexec', { options: { mountoptions: 'nosuid;nodev;noexec' } }],
  ])('parses %p', (value, expected) => {
    const result = parseMountPointValue(value);
    expect(result).toMatchObject({ ok: true, mount: expected });
  });

  it.each([
    ['/srv/a', /mp: property is missing/],
    ['mp=/a', /volume: property is missing/],
    ['/srv/a,mp=/a,uid=1000', /invalid key in comma-separated list property: uid/],
    ['/srv/a,mp=/a,ro=1,ro=0', /duplicate key/],
    ['/srv/a,/srv/b,mp=/a', /duplicate key in comma-separated list property: volume/],
    ['/srv/a,mp=/a,ro=', /missing key/],
    ['/srv/a,mp=/a,ro=maybe', /type check \('boolean'\) failed - got 'maybe'/],
    ['/srv/a,mp=/a/../etc', /illegal character sequences/],
    ['/srv/a,mp=/a,mountoptions=rw', /mountoptions: value does not match/],
    ['/srv/a,mp=/a,idmap=u:0:5000:0', /idmap: value does not match/],
    ['/srv/a,mp=/a,size=lots', /valid disk size/],
  ])('refuses %p as Proxmox does (and then mounts nothing)', (value, problem) => {
    const result = parseMountPointValue(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatch(problem);
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

  it('an lxc.idmap line parse_id_maps cannot read leaves root without a host id', () => {
    expect(() => idMapOf(parse('unprivileged: 1\nlxc.idmap: u 0 100000\n'))).toThrow(/line 2: failed to parse idmap: u 0 100000/);
  });

  it.each([
    ['container side', 'lxc.idmap: u 0 100000 1000\nlxc.idmap: u 999 200000 10\n', /lines 1 and 2 overlap on the container side/],
    ['host side', 'lxc.idmap: g 0 100000 1000\nlxc.idmap: g 1000 100500 10\n', /lines 1 and 2 overlap on the host side/],
  ])('overlapping ranges on the %s are an error', (_, text, problem) => {
    expect(() => idMapOf(parse(text))).toThrow(problem);
  });
});

describe('mountRoot (PVE::LXC::resolve_mountpoint_idmap)', () => {
  const unprivileged = parse('unprivileged: 1\n');
  const map = idMapOf(unprivileged);
  const root = mappedRoot(map, FILE);
  const mp = (value: string) => {
    const r = parseMountPointValue(value);
    if (!r.ok) throw new Error(r.problem);
    return r.mount;
  };

  it('without idmap= container root writes as its lxc.idmap host id', () => {
    expect(mountRoot(map, root, mp('/srv/a,mp=/a'), FILE)).toEqual({ uid: 100000, gid: 100000, through: 'container' });
  });

  it('passthrough: disk ids are container ids, so root writes as 0:0', () => {
    expect(mountRoot(map, root, mp('/srv/a,mp=/a,idmap=passthrough'), FILE)).toEqual({ uid: 0, gid: 0, through: 'passthrough' });
  });

  it('listed ranges map container root to their disk ids; ids they leave out go through lxc.idmap', () => {
    expect(mountRoot(map, root, mp('/srv/a,mp=/a,idmap=u:0:5000:1;g:0:5000:1'), FILE)).toMatchObject({ uid: 5000, gid: 5000, through: 'mount-idmap' });
    expect(mountRoot(map, root, mp('/srv/a,mp=/a,idmap=u:0:5000:1'), FILE)).toMatchObject({ uid: 5000, gid: 100000 });
    expect(mountRoot(map, root, mp('/srv/a,mp=/a,idmap=u:1000:1000:1;g:1000:1000:1'), FILE)).toMatchObject({ uid: 100000, gid: 100000 });
  });

  it('a privileged container ignores the option (mountpoint_hotplug warns)', () => {
    const privileged = idMapOf(parse('arch: amd64\n'));
    expect(mountRoot(privileged, { uid: 0, gid: 0 }, mp('/srv/a,mp=/a,idmap=u:0:5000:1'), FILE)).toMatchObject({
      uid: 0,
      gid: 0,
      through: 'container',
      note: expect.stringMatching(/ignores/),
    });
  });

  it('overlapping ranges make Proxmox refuse the mount (validate_id_maps)', () => {
    expect(() => mountRoot(map, root, mp('/srv/a,mp=/a,idmap=u:0:5000:10;u:5:7000:10'), FILE)).toThrow(IdmapError);
  });
});
