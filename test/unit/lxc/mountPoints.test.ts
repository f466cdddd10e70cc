import { parseContainerConfig } from '../../../src/domain/lxc/containerConfig';
import { decideMountPoint, NoFreeSlotError, normalisePath, pctSetArgs } from '../../../src/domain/lxc/mountPoints';

function entries(text: string) {
  const config = parseContainerConfig(text, '950.conf');
  return [config.mountPoints, config.pendingMountPoints] as const;
}

describe('decideMountPoint', () => {
  it('the same host path at the same container path is present', () => {
    const [main] = entries('mp3: /srv/models,mp=/models\n');
    expect(decideMountPoint('/srv/models', '/models', main)).toEqual({ mount: 'present', slot: 3 });
  });

  it('compares whole normalised paths, never substrings', () => {
    const [main] = entries('mp0: /srv/vllm_models_old,mp=/vllm_models_old\nmp1: /srv/vllm_models/,mp=/vllm_models/\n');
    expect(decideMountPoint('/srv/vllm_models', '/vllm_models', main)).toEqual({ mount: 'present', slot: 1 });
    expect(decideMountPoint('/srv/vllm', '/vllm', main)).toEqual({ mount: 'new', slot: 2 });
  });

  it('another host path at the container path is drift, reported with what is there', () => {
    const [main] = entries('mp0: /srv/old,mp=/models\n');
    expect(decideMountPoint('/srv/new', '/models', main)).toEqual({ mount: 'drift', slot: 0, currentHostPath: '/srv/old' });
    const [storage] = entries('mp0: local-lvm:vm-950-disk-1,mp=/models\n');
    expect(decideMountPoint('/srv/new', '/models', storage)).toMatchObject({ mount: 'drift', currentHostPath: 'local-lvm:vm-950-disk-1' });
  });

  it('takes the lowest free slot, skipping slots pending or reserved by this plan', () => {
    const [main, pending] = entries('mp0: /a,mp=/a\nmp2: /c,mp=/c\n[pve:pending]\nmp1: /b,mp=/b\n');
    expect(decideMountPoint('/d', '/d', main, pending)).toEqual({ mount: 'new', slot: 3 });
    expect(decideMountPoint('/d', '/d', main, pending, [3, 4])).toEqual({ mount: 'new', slot: 5 });
  });

  it('a pending entry for the same pair is present but waits for a restart; one for another path is drift', () => {
    const [main, pending] = entries('mp0: /srv/old,mp=/models\n[pve:pending]\nmp0: /srv/new,mp=/models\n');
    expect(decideMountPoint('/srv/new', '/models', main, pending)).toEqual({ mount: 'present', slot: 0, pendingUntilRestart: true });
    expect(decideMountPoint('/srv/other', '/models', main, pending)).toMatchObject({ mount: 'drift', currentHostPath: '/srv/new', pendingUntilRestart: true });
  });

  it('fails when mp0..mp255 are all taken', () => {
    const text = Array.from({ length: 256 }, (_, i) => `mp${i}: /s${i},mp=/m${i}\n`).join('');
    const [main] = entries(text);
    expect(() => decideMountPoint('/x', '/x', main)).toThrow(NoFreeSlotError);
    expect(decideMountPoint('/s255', '/m255', main)).toEqual({ mount: 'present', slot: 255 });
  });
});

describe('pctSetArgs', () => {
  it('builds argv, one value per element', () => {
    expect(pctSetArgs(950, 4, '/srv/models', '/models')).toEqual(['set', '950', '-mp4', '/srv/models,mp=/models']);
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
