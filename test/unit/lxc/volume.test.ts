import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { volumeProblems, type LxcVolume } from '../../../src/domain/lxc/volume';

const good: LxcVolume = { name: 'models', hostPath: '/srv/models', owner: { kind: 'container_root' }, mounts: [{ ctid: 950, containerPath: '/models' }] };

describe('volumeProblems', () => {
  it('finds nothing wrong with a volume the config loader accepted', () => {
    const [volume] = parseLxcConfig(
      JSON.stringify({ shared_volumes: { models: { host_path: '/srv/models', owner: 'alice', mounts: { '950': '/models' } } } }),
    ).volumes;
    expect(volumeProblems(volume)).toEqual([]);
    expect(volumeProblems(good)).toEqual([]);
  });

  it('names every field of a hand-built volume the loader would have refused', () => {
    const bad = { name: '-x', hostPath: 'srv', owner: { kind: 'user', user: 'Root$' }, mounts: [{ ctid: 99, containerPath: '/a,b' }] } as LxcVolume;
    expect(volumeProblems(bad).map((p) => p.message)).toEqual([
      'shared_volumes.-x: volume name must be 1-63 letters, digits, _ . - and start with a letter or digit',
      'shared_volumes.-x.host_path: must be absolute (start with /), found "srv"',
      'shared_volumes.-x.owner: must be absent, a host user name (lower-case letters, digits, _ . -, at most 32), container_root or an object { "uid": <n>, "gid": <n> } of whole numbers 0..4294967294',
      'shared_volumes.-x.mounts.99: is not a container ID (100..999999999)',
      `shared_volumes.-x.mounts.99: contains a comma, which would split pct's "-mpN <host>,mp=<ct>" argument; rename the directory`,
    ]);
  });

  it('refuses a volume no container mounts, and input that is not a volume at all', () => {
    expect(volumeProblems({ ...good, mounts: [] }).map((p) => p.field)).toEqual(['shared_volumes.models.mounts']);
    expect(volumeProblems(null as unknown as LxcVolume).map((p) => p.field)).toEqual([
      'shared_volumes.undefined',
      'shared_volumes.undefined.host_path',
      'shared_volumes.undefined.owner',
      'shared_volumes.undefined.mounts',
    ]);
  });
});
