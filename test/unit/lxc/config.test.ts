import Ajv from 'ajv';
import { InputError, InputErrors } from '../../../src/domain/errors';
import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { pathProblem, validateHostPath } from '../../../src/domain/lxc/paths';
import { LXC_CONFIG_SCHEMA } from '../../../src/domain/lxc/schema';

const phoenix = {
  version: '1.0',
  nodes: [{ name: 'pve1' }],
  firewall: { enabled: true },
  shared_volumes: {
    vllm_models: {
      host_path: '/mnt/pve/fastData/shared-bulk-data/vllm_models',
      owner: 'container_root',
      mounts: { '951': '/vllm_models', '950': '/vllm_models' },
    },
    datasets: { host_path: '/srv/datasets', mounts: { '960': '/data' } },
    home: { host_path: '/srv/home', owner: 'alice', mounts: {} },
  },
};

/** The errors parseLxcConfig throws, as "field: problem" strings. */
function errorsOf(document: unknown, volume?: string): InputError[] {
  try {
    parseLxcConfig(typeof document === 'string' ? document : JSON.stringify(document), { volume });
  } catch (error) {
    expect(error).toBeInstanceOf(InputErrors);
    return (error as InputErrors).errors;
  }
  throw new Error('expected InputErrors');
}

function withVolume(volume: unknown, name = 'v') {
  return { ...phoenix, shared_volumes: { [name]: volume } };
}

describe('parseLxcConfig', () => {
  it('reads a Phoenix config as it is, ignoring other keys, sorted by name and CTID', () => {
    const config = parseLxcConfig(JSON.stringify(phoenix));
    expect(config.volumes.map((v) => v.name)).toEqual(['datasets', 'home', 'vllm_models']);
    expect(config.volumes[2]).toEqual({
      name: 'vllm_models',
      hostPath: '/mnt/pve/fastData/shared-bulk-data/vllm_models',
      owner: { kind: 'container_root' },
      mounts: [
        { ctid: 950, containerPath: '/vllm_models' },
        { ctid: 951, containerPath: '/vllm_models' },
      ],
    });
    expect(config.volumes[0].owner).toEqual({ kind: 'default' });
    expect(config.volumes[1].owner).toEqual({ kind: 'user', user: 'alice' });
  });

  it('accepts a file without shared_volumes as having none', () => {
    expect(parseLxcConfig('{"nodes": []}').volumes).toEqual([]);
  });

  it('limits the run to --volume and names an unknown one', () => {
    expect(parseLxcConfig(JSON.stringify(phoenix), { volume: 'datasets' }).volumes.map((v) => v.name)).toEqual(['datasets']);
    const [error] = errorsOf(phoenix, 'nope');
    expect(error.field).toBe('--volume');
    expect(error.problem).toMatch(/no volume named "nope".*datasets, home, vllm_models/);
  });

  it('reports invalid JSON with line and column', () => {
    const [error] = errorsOf('{\n  "shared_volumes": {,}\n}');
    expect(error.field).toBe('$');
    expect(error.problem).toMatch(/not valid JSON at line 2, column \d+/);
  });

  it('rejects an entry that is not a volume, naming exactly that entry', () => {
    const errors = errorsOf({ shared_volumes: { ...phoenix.shared_volumes, firewall: { enabled: true, rules: [] } } });
    expect(errors).toHaveLength(1);
    expect(errors[0].field).toBe('shared_volumes.firewall');
    expect(errors[0].problem).toMatch(/is not a volume.*host_path and mounts.*enabled, rules/);
  });

  it('reads read_only, mountoptions and backup per volume', () => {
    const config = parseLxcConfig(
      JSON.stringify(withVolume({ host_path: '/srv/a', mounts: { '950': '/a' }, read_only: true, mountoptions: 'nosuid;nodev', backup: false })),
    );
    expect(config.volumes[0]).toMatchObject({ readOnly: true, mountOptions: 'nosuid;nodev', backup: false });
  });

  it.each([
    ['read_only', 'yes', /must be true or false/],
    ['backup', 1, /must be true or false/],
    // PVE::LXC::Config $valid_mount_option_re: only these six, ";"-separated.
    ['mountoptions', 'nosuid,nodev', /separated by ";"/],
    ['mountoptions', 'uid=1000', /discard, lazytime, noatime, nodev, noexec, nosuid/],
    ['mountoptions', '', /mount options/],
  ])('rejects %s %p, naming the field and the fix', (key, value, problem) => {
    const errors = errorsOf(withVolume({ host_path: '/srv/a', mounts: { '950': '/a' }, [key]: value }));
    expect(errors.map((e) => e.field)).toEqual([`shared_volumes.v.${key}`]);
    expect(errors[0].problem).toMatch(problem);
  });

  it('rejects unknown keys in a volume (a misspelled owner must not fall back silently)', () => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', ownr: 'container_root', mounts: {} }));
    expect(error.field).toBe('shared_volumes.v.ownr');
  });

  it.each([
    ['relative', 'srv/a', /must be absolute/],
    ['double slash', '/srv//a', /not normalised.*"\/\/"/],
    ['dot segment', '/srv/./a', /not normalised/],
    ['dot-dot', '/srv/../etc', /contains "\.\."/],
    ['trailing slash', '/srv/a/', /trailing slash/],
    ['comma', '/srv/a,mp=/x', /comma/],
    ['equals', '/srv/a=b', /"="/],
    ['newline', '/srv/a\n/etc', /newline/],
    ['tab', '/srv/a\tb', /control character \(0x09\)/],
    ['root', '/', /must not be \//],
    ['not a string', 42, /must be a string/],
  ])('rejects a host_path with %s, naming the field', (_, hostPath, problem) => {
    const [error] = errorsOf(withVolume({ host_path: hostPath, mounts: { '950': '/a' } }));
    expect(error.field).toBe('shared_volumes.v.host_path');
    expect(error.problem).toMatch(problem);
  });

  it('rejects a bad container path under its CTID', () => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', mounts: { '950': '/a,backup=1' } }));
    expect(error.field).toBe('shared_volumes.v.mounts.950');
    expect(error.problem).toMatch(/comma/);
  });

  it.each([['abc'], ['95O'], ['99'], ['0950'], ['1000000000'], ['-950']])('rejects CTID %s', (ctid) => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', mounts: { [ctid]: '/a' } }));
    expect(error.field).toBe(`shared_volumes.v.mounts.${ctid}`);
    expect(error.problem).toMatch(/100\.\.999999999/);
  });

  it.each([['Root'], ['a b'], ['x;y'], ['1000:1000'], [''], [7]])('rejects owner %p', (owner) => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', owner, mounts: { '950': '/a' } }));
    expect(error.field).toBe('shared_volumes.v.owner');
    expect(error.problem).toMatch(/host user name.*container_root/);
  });

  it('rejects container_root without any mounting container', () => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', owner: 'container_root', mounts: {} }));
    expect(error.field).toBe('shared_volumes.v.owner');
  });

  it('rejects two volumes at the same path of one container', () => {
    const errors = errorsOf({
      shared_volumes: { a: { host_path: '/srv/a', mounts: { '950': '/data' } }, b: { host_path: '/srv/b', mounts: { '950': '/data' } } },
    });
    expect(errors.map((e) => e.field)).toEqual(['shared_volumes.b.mounts.950']);
    expect(errors[0].problem).toMatch(/already mounts volume a at \/data/);
  });

  it('rejects a bad volume name', () => {
    const [error] = errorsOf(withVolume({ host_path: '/srv/a', mounts: {} }, 'my volume'));
    expect(error.field).toBe('shared_volumes.my volume');
  });

  it('reports every problem of a file at once', () => {
    const errors = errorsOf({ shared_volumes: { a: { host_path: 'x', mounts: { abc: '/a' } }, b: 'nope' } });
    expect(errors.map((e) => e.field)).toEqual(['shared_volumes.a.host_path', 'shared_volumes.a.mounts.abc', 'shared_volumes.b']);
  });

  it.each([['/srv/a; touch /tmp/pwned'], ['/srv/$(touch /tmp/pwned)'], ['/srv/`touch /tmp/pwned`'], ['/srv/a\ntouch /tmp/pwned'], ["/srv/a'b"], ['/srv/a b']])(
    'rejects shell syntax %p in any path field',
    (value) => {
      expect(errorsOf(withVolume({ host_path: value, mounts: {} }))[0].field).toBe('shared_volumes.v.host_path');
      expect(errorsOf(withVolume({ host_path: '/srv/a', mounts: { '950': value } }))[0].field).toBe('shared_volumes.v.mounts.950');
    },
  );
});

describe('validateHostPath', () => {
  it('returns an acceptable path and throws an InputError naming the field otherwise', () => {
    expect(validateHostPath('--path', '/srv/models-2.0_x@y+z')).toBe('/srv/models-2.0_x@y+z');
    const thrown = (() => {
      try {
        validateHostPath('--path', '/srv/a,b');
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).field).toBe('--path');
    expect((thrown as InputError).problem).toMatch(/comma/);
  });
});

describe('the shipped schema', () => {
  const ajv = new Ajv({ strict: true });
  const validPath = ajv.compile({ ...LXC_CONFIG_SCHEMA.definitions.absolutePath });
  it.each([
    '/a',
    '/srv/a',
    '/srv/...',
    '/srv/.hidden',
    '/srv/a..b',
    '/srv/a.',
    '/a/b-c_d+e@f',
    '/srv/a/',
    '/srv//a',
    '/srv/./a',
    '/srv/../a',
    '/..',
    '/.',
    'rel',
    '/',
    '/a,b',
    '/a=b',
    '/a b',
    '/a;b',
    '/a\nb',
    '/a$b',
    '/ä',
  ])('agrees with pathProblem on %p', (value) => {
    expect(validPath(value)).toBe(pathProblem(value) === undefined);
  });

  it('accepts the seed example and other top-level keys', () => {
    const validate = ajv.compile(LXC_CONFIG_SCHEMA);
    expect(validate(phoenix)).toBe(true);
    expect(validate({ shared_volumes: { firewall: { enabled: true } } })).toBe(false);
  });
});
