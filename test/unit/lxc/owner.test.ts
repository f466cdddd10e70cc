import type { LxcVolume } from '../../../src/domain/lxc/volume';
import { hostUsersFrom, parsePasswd } from '../../../src/domain/lxc/hostUsers';
import { resolveOwner } from '../../../src/domain/lxc/owner';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1001:Alice:/home/alice:/bin/bash\nbroken line\nbob:x:abc:1:b:/:/bin/sh\n';
const GROUP = 'root:x:0:\nstaff:x:1001:alice\n';
const hostUsers = hostUsersFrom(['alice', 'nobody-here'], PASSWD, GROUP);

function volume(owner: LxcVolume['owner'], ctids = [950, 951]): LxcVolume {
  return { name: 'models', hostPath: '/srv/models', owner, mounts: ctids.map((ctid) => ({ ctid, containerPath: '/models' })) };
}

describe('host users', () => {
  it('reads uid and primary gid, skipping malformed lines', () => {
    expect([...parsePasswd(PASSWD).keys()]).toEqual(['root', 'alice']);
    expect(hostUsers).toEqual({ alice: { name: 'alice', uid: 1000, gid: 1001, group: 'staff' } });
  });
});

describe('resolveOwner', () => {
  it('default: nobody:nogroup, with a note that container root cannot write', () => {
    const owner = resolveOwner(volume({ kind: 'default' }), { hostUsers, containerRoots: [] });
    expect(owner).toMatchObject({ mode: 'default', uid: 65534, gid: 65534 });
    expect(owner.note).toMatch(/read but not write/);
  });

  it('a host user: that user and its primary group', () => {
    expect(resolveOwner(volume({ kind: 'user', user: 'alice' }), { hostUsers, containerRoots: [] })).toEqual({
      mode: 'user',
      uid: 1000,
      gid: 1001,
      user: 'alice',
      group: 'staff',
    });
  });

  it('an unknown host user is an input error on the owner field', () => {
    expect(() => resolveOwner(volume({ kind: 'user', user: 'carol' }), { hostUsers, containerRoots: [] })).toThrow(
      expect.objectContaining({ field: 'shared_volumes.models.owner', problem: expect.stringMatching(/"carol" does not exist/) }),
    );
  });

  it('container_root: the mapped root uid and gid (not host nogroup)', () => {
    const roots = [
      { ctid: 950, uid: 100000, gid: 100000 },
      { ctid: 951, uid: 100000, gid: 100000 },
    ];
    expect(resolveOwner(volume({ kind: 'container_root' }), { hostUsers, containerRoots: roots })).toEqual({
      mode: 'container_root',
      uid: 100000,
      gid: 100000,
    });
  });

  it.each([
    ['uid', { ctid: 951, uid: 200000, gid: 100000 }],
    ['gid', { ctid: 951, uid: 100000, gid: 200000 }],
  ])('container_root with containers whose root %s differs is refused, naming each CT (never last-wins)', (_, other) => {
    const roots = [{ ctid: 950, uid: 100000, gid: 100000 }, other];
    expect(() => resolveOwner(volume({ kind: 'container_root' }), { hostUsers, containerRoots: roots })).toThrow(
      /CT 950 root is 100000:100000, CT 951 root is \d+:\d+/,
    );
  });
});
