import { foreignBindWarnings, hostPathFactsProblem, nestedHostPathErrors } from '../../../src/domain/lxc/hostPaths';

describe('where a host path may lie', () => {
  it('a host path inside another volume, or the same as another, is an error naming both; siblings are fine', () => {
    const errors = nestedHostPathErrors([
      { name: 'outer', hostPath: '/tank/outer' },
      { name: 'victim', hostPath: '/tank/outer/x/host' },
      { name: 'sibling', hostPath: '/tank/outer-old' },
      { name: 'a', hostPath: '/tank/same' },
      { name: 'b', hostPath: '/tank/same' },
    ]);
    expect(errors.map((e) => [e.field, e.problem.split(':')[0]])).toEqual([
      ['shared_volumes.victim.host_path', '/tank/outer/x/host lies inside the host path of volume outer (/tank/outer)'],
      ['shared_volumes.b.host_path', '/tank/same is also the host path of volume a (/tank/same)'],
    ]);
  });

  it('a symlink component is named with the canonical path to write instead', () => {
    expect(hostPathFactsProblem({ path: '/a/link/v', exists: true, isDirectory: false, symlinkComponent: '/a/link', canonicalPath: '/a/real/v' })).toBe(
      '/a/link is a symlink, and sharemount follows no symlink in a host path (what it points at can be changed after the plan); its canonical path is /a/real/v: write that instead',
    );
    expect(hostPathFactsProblem({ path: '/a/v', exists: false, isDirectory: false })).toMatch(/does not exist/);
    expect(hostPathFactsProblem({ path: '/a/v', exists: true, isDirectory: false })).toMatch(/not a directory/);
    expect(hostPathFactsProblem({ path: '/a/v', exists: true, isDirectory: true, dev: 1, ino: 2 })).toBeUndefined();
  });

  it('warns about a container that binds a directory holding the host path, not about the path itself or siblings', () => {
    const binds = [
      { ctid: 101, slot: 'mp0', hostPath: '/tank/outer', containerPath: '/outer' },
      { ctid: 103, slot: 'mp1', hostPath: '/tank/outer/x/host', containerPath: '/same' },
      { ctid: 104, slot: 'mp2', hostPath: '/tank/out', containerPath: '/prefix-only' },
    ];
    expect(foreignBindWarnings('/tank/outer/x/host', binds)).toEqual([
      expect.stringMatching(/^CT 101 binds \/tank\/outer \(mp0\), which holds this host path/),
    ]);
  });
});
