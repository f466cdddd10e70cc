import { parseContainerConfig } from '../../../src/domain/lxc/containerConfig';
import { decideMountPoint, NoFreeSlotError, normalisePath, optionsToWrite, pctSetArgs } from '../../../src/domain/lxc/mountPoints';

function entries(text: string) {
  const config = parseContainerConfig(text, '950.conf');
  return [config.mountPoints, config.pendingMountPoints, config.pendingDeletes] as const;
}

/** The decision without the entry found (its shape is parseContainerConfig's). */
function decide(...args: Parameters<typeof decideMountPoint>) {
  const { entry, ...rest } = decideMountPoint(...args);
  return rest;
}

describe('decideMountPoint', () => {
  it('the same host path at the same container path is present', () => {
    const [main] = entries('mp3: /srv/models,mp=/models\n');
    expect(decide('/srv/models', '/models', main)).toEqual({ mount: 'present', slot: 3 });
  });

  it('compares whole normalised paths, never substrings', () => {
    const [main] = entries('mp0: /srv/vllm_models_old,mp=/vllm_models_old\nmp1: /srv/vllm_models/,mp=/vllm_models/\n');
    expect(decide('/srv/vllm_models', '/vllm_models', main)).toEqual({ mount: 'present', slot: 1 });
    expect(decide('/srv/vllm', '/vllm', main)).toEqual({ mount: 'new', slot: 2 });
  });

  it('another host path at the container path is drift, reported with what is there', () => {
    const [main] = entries('mp0: /srv/old,mp=/models\n');
    expect(decide('/srv/new', '/models', main)).toEqual({ mount: 'drift', slot: 0, currentHostPath: '/srv/old' });
  });

  it('a storage volume or a device at the container path is a conflict (classify_mountpoint), never drift', () => {
    const [storage] = entries('mp0: local-lvm:vm-950-disk-1,mp=/models\n');
    expect(decide('/srv/new', '/models', storage)).toEqual({ mount: 'conflict', slot: 0, currentHostPath: 'local-lvm:vm-950-disk-1' });
    const [device] = entries('mp4: /dev/sdb1,mp=/models\n');
    expect(decide('/srv/new', '/models', device)).toMatchObject({ mount: 'conflict', slot: 4 });
  });

  it('this bind with ro=1, or queued for delete:, or an unparseable value at the path is not present', () => {
    const [ro] = entries('mp0: /srv/m,mp=/models,ro=1\n');
    expect(decide('/srv/m', '/models', ro)).toEqual({ mount: 'readOnly', slot: 0 });
    const [main, pending, deletes] = entries('mp0: /srv/m,mp=/models\n[pve:pending]\ndelete: mp0\n');
    expect(decide('/srv/m', '/models', main, pending, [], deletes)).toEqual({ mount: 'pendingDelete', slot: 0 });
    const [bad] = entries('mp0: /srv/m,mp=/models,uid=1000\n');
    expect(decide('/srv/m', '/models', bad)).toEqual({ mount: 'ignored', slot: 0 });
  });

  it('this bind with ro, mountoptions or backup other than the config says is drift, saying what differs', () => {
    const [main] = entries('mp0: /srv/m,mp=/models,mountoptions=nodev\n');
    const wants = { ro: '1', mountoptions: 'nosuid;nodev', backup: '1' };
    expect(decide('/srv/m', '/models', main, [], [], [], wants)).toEqual({
      mount: 'drift',
      slot: 0,
      differs: ['no ro (config: ro=1)', 'mountoptions=nodev (config: mountoptions=nosuid;nodev)', 'no backup (config: backup=1)'],
    });
    const [same] = entries('mp0: /srv/m,mp=/models,ro=1,mountoptions=nodev;nosuid,backup=1\n');
    expect(decide('/srv/m', '/models', same, [], [], [], wants)).toEqual({ mount: 'present', slot: 0 });
    // Absent booleans are off for Proxmox, so backup=0 asked of an entry without backup is no change.
    const [plain] = entries('mp0: /srv/m,mp=/models\n');
    expect(decide('/srv/m', '/models', plain, [], [], [], { backup: '0' })).toEqual({ mount: 'present', slot: 0 });
  });

  it('an unparseable key still holds its slot', () => {
    const [main] = entries('mp0: /srv/m,uid=1000\n');
    expect(decide('/srv/x', '/x', main)).toEqual({ mount: 'new', slot: 1 });
  });

  it('takes the lowest free slot, skipping slots pending or reserved by this plan', () => {
    const [main, pending] = entries('mp0: /a,mp=/a\nmp2: /c,mp=/c\n[pve:pending]\nmp1: /b,mp=/b\n');
    expect(decide('/d', '/d', main, pending)).toEqual({ mount: 'new', slot: 3 });
    expect(decide('/d', '/d', main, pending, [3, 4])).toEqual({ mount: 'new', slot: 5 });
  });

  it('a pending entry for the same pair is pending (waits for a restart); one for another path is drift', () => {
    const [main, pending] = entries('mp0: /srv/old,mp=/models\n[pve:pending]\nmp0: /srv/new,mp=/models\n');
    expect(decide('/srv/new', '/models', main, pending)).toEqual({ mount: 'pending', slot: 0, pendingUntilRestart: true });
    expect(decideMountPoint('/srv/other', '/models', main, pending)).toMatchObject({ mount: 'drift', currentHostPath: '/srv/new', pendingUntilRestart: true });
  });

  it('fails when mp0..mp255 are all taken', () => {
    const text = Array.from({ length: 256 }, (_, i) => `mp${i}: /s${i},mp=/m${i}\n`).join('');
    const [main] = entries(text);
    expect(() => decideMountPoint('/x', '/x', main)).toThrow(NoFreeSlotError);
    expect(decide('/s255', '/m255', main)).toEqual({ mount: 'present', slot: 255 });
  });
});

describe('pctSetArgs', () => {
  it('builds argv, one value per element', () => {
    expect(pctSetArgs(950, 4, '/srv/models', '/models')).toEqual(['set', '950', '-mp4', '/srv/models,mp=/models']);
  });

  it('a rewrite keeps the options of the entry it replaces, but not ro unless the config asks for it', () => {
    const existing = { ro: '1', backup: '0', idmap: 'u:0:5000:1;g:0:5000:1' };
    expect(pctSetArgs(950, 1, '/srv/m', '/m', undefined, optionsToWrite(existing, {}))).toEqual([
      'set',
      '950',
      '-mp1',
      '/srv/m,mp=/m,backup=0,idmap=u:0:5000:1;g:0:5000:1',
    ]);
    expect(pctSetArgs(950, 1, '/srv/m', '/m', undefined, optionsToWrite(existing, { ro: '1', mountoptions: 'nosuid;nodev', backup: '1' }))).toEqual([
      'set',
      '950',
      '-mp1',
      '/srv/m,mp=/m,backup=1,idmap=u:0:5000:1;g:0:5000:1,ro=1,mountoptions=nosuid;nodev',
    ]);
    expect(() => pctSetArgs(950, 1, '/srv/m', '/m', undefined, { uid: '1000' })).toThrow(/option/);
    expect(() => pctSetArgs(950, 1, '/srv/m', '/m', undefined, { backup: '0,mp=/etc' })).toThrow(/option/);
  });

  it('passes the digest of the config the slot was chosen from, so Proxmox refuses a change made since', () => {
    const digest = 'a'.repeat(40);
    expect(pctSetArgs(950, 4, '/srv/models', '/models', digest)).toEqual(['set', '950', '-mp4', '/srv/models,mp=/models', '--digest', digest]);
    expect(() => pctSetArgs(950, 4, '/srv/models', '/models', 'abc;reboot')).toThrow(/digest/);
  });

  it.each([
    [950, 0, '/srv/a,mp=/etc', '/x'],
    [950, 0, '/srv/a', '/x;reboot'],
    [950, 256, '/srv/a', '/x'],
    [99, 0, '/srv/a', '/x'],
    [950.5, 0, '/srv/a', '/x'],
  ])('refuses %p %p %p %p', (ctid, slot, host, ct) => {
    expect(() => pctSetArgs(ctid, slot, host, ct)).toThrow();
  });
});

describe('normalisePath', () => {
  it.each([
    ['/a//b/', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/', '/'],
  ])('%p -> %p', (input, output) => expect(normalisePath(input)).toBe(output));
});
