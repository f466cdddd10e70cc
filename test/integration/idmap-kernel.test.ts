import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeNeeding } from '../support/requires';
import { buildIdmappedMountHelper, IDMAP_REFUSED_STATUS, idmappedMountNeeds, runAsContainer, runOnFreshFilesystem } from '../support/idmap/idmappedMountHelper';
import type { ContainerRun } from '../support/idmap/idmappedMountHelper';
import { helperMap, lxcIdmapAsPveReadsIt, mountIdmapAsPveReadsIt, mountUsernsMapAsPveResolvesIt } from '../support/idmap/pveIdmapOracle';
import { owner, scratchDir } from './lxc-support';
import { parseLxcConfig } from '../../src/domain/lxc/config';
import { buildLxcPlan } from '../../src/domain/lxc/plan';

/**
 * Issue 13, proof with the kernel: per-mount idmap= (pve-container 6.1.6) lets containers with different
 * lxc.idmap share one volume with a single owner on disk and no chown. Each container is its conf's
 * lxc.idmap lines and the idmap= value of its mount point; the namespaces' maps come from them the way
 * pve-container computes them at container start (test/support/idmap/pveIdmapOracle.ts), and the kernel
 * does the rest: open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, then the container's user writes.
 */

interface Container {
  name: string;
  conf: string;
  /** The idmap= value of the container's mount point of the volume, as the planner writes it. */
  idmap: string;
}

function kernelMaps(ct: Container): { container: string; mount: string } {
  const lxcIdmap = lxcIdmapAsPveReadsIt(ct.conf);
  return { container: helperMap(lxcIdmap), mount: helperMap(mountUsernsMapAsPveResolvesIt(lxcIdmap, mountIdmapAsPveReadsIt(ct.idmap))) };
}

const conf = (...lines: string[]) => ['arch: amd64', 'unprivileged: 1', ...lines.map((l) => `lxc.idmap: ${l}`)].join('\n') + '\n';

const EXT4 = 0xef53;

/**
 * The idmap= value sharemount's planner (buildLxcPlan, strategy idmap) writes for each container of one
 * volume whose tree is owned by `disk`: the values the kernel tests below mount with must be exactly these.
 */
function plannedIdmaps(owner: unknown, disk: { uid: number; gid: number }, containers: Container[]): Record<string, string | undefined> {
  const host = '/srv/shared';
  const ctids = containers.map((_, index) => 900 + index);
  const config = parseLxcConfig(
    JSON.stringify({
      shared_volumes: { shared: { host_path: host, owner, strategy: 'idmap', mounts: Object.fromEntries(ctids.map((id) => [String(id), '/shared'])) } },
    }),
  );
  const plan = buildLxcPlan(config, {
    node: 'pve1',
    containers: containers.map((ct, index) => ({ ctid: ctids[index], file: `/etc/pve/lxc/${ctids[index]}.conf`, text: ct.conf, running: false })),
    hostUsers: {},
    hostPaths: { [host]: { path: host, exists: true, isDirectory: true, dev: 1, ino: 2, uid: disk.uid, gid: disk.gid, fsType: EXT4 } },
    pveContainerVersion: '6.1.6',
  }).volumes[0];
  expect(plan.errors).toBeUndefined();
  return Object.fromEntries(plan.containers.map((c) => [containers[ctids.indexOf(c.ctid)].name, c.options?.idmap]));
}

function hostMountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(dir));
}

/** Every path under root with its owner on disk, root included. */
function ownersOnDisk(root: string): Record<string, string> {
  const out: Record<string, string> = { '.': owner(root) };
  for (const name of fs.readdirSync(root, { recursive: true }) as string[]) out[name] = owner(path.join(root, name));
  return out;
}

describeNeeding(idmappedMountNeeds(), 'idmapped mounts, as a Proxmox node makes them at container start (kernel)', () => {
  let helper: string;
  let base: string;
  let volume: string;

  beforeAll(() => {
    helper = buildIdmappedMountHelper();
  });
  beforeEach(() => {
    base = scratchDir('idmap-kernel');
    volume = path.join(base, 'volume');
    fs.mkdirSync(volume, { mode: 0o755 });
  });
  afterEach(() => {
    expect(hostMountsUnder(base)).toEqual([]);
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** A script run as `user` of ct, through its idmapped mount of the volume at <base>/mnt-<name> ($1). */
  function inContainer(ct: Container, script: string, user?: { uid: number; gid: number }, args: string[] = []) {
    const target = path.join(base, `mnt-${ct.name}`);
    fs.mkdirSync(target, { recursive: true });
    const maps = kernelMaps(ct);
    return runAsContainer(helper, { container: maps.container, user, mounts: [{ source: volume, target, map: maps.mount }], script, args: [target, ...args] });
  }

  /** The same user of ct on the volume itself ($1), without an idmapped mount. */
  function withoutIdmappedMount(ct: Container, script: string, user?: { uid: number; gid: number }) {
    return runAsContainer(helper, { container: kernelMaps(ct).container, user, script, args: [volume] });
  }

  function expectOk(result: { status: number | null; stdout: string; stderr: string }): string {
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    return result.stdout;
  }

  describe('container root of two different maps, one disk owner 100000:100000', () => {
    const a: Container = { name: 'A', conf: conf('u 0 100000 65536', 'g 0 100000 65536'), idmap: 'u:0:100000:1;g:0:100000:1' };
    const b: Container = { name: 'B', conf: conf('u 0 300000 65536', 'g 0 300000 65536'), idmap: 'u:0:100000:1;g:0:100000:1' };

    beforeEach(() => fs.chownSync(volume, 100000, 100000));

    test('these are the idmap= values the planner writes for container_root on a tree owned 100000:100000', () => {
      expect(plannedIdmaps('container_root', { uid: 100000, gid: 100000 }, [a, b])).toEqual({ A: a.idmap, B: b.idmap });
    });

    test("the mount maps B's root (host 300000) to the disk owner and leaves the rest of B's range as it is", () => {
      expect(kernelMaps(b)).toEqual({
        container: 'u:0:300000:65536;g:0:300000:65536',
        mount: 'u:100000:300000:1;u:300001:300001:65535;g:100000:300000:1;g:300001:300001:65535',
      });
    });

    test('both roots create and change files through their idmapped mounts; on disk every file is 100000:100000', () => {
      expectOk(inContainer(a, 'cd "$1"; echo a > a.txt; mkdir shared; echo one > shared/notes'));
      expectOk(inContainer(b, 'cd "$1"; echo b > b.txt; echo two >> shared/notes; chmod 0640 a.txt; mv a.txt shared/a.txt; mkdir shared/from-b'));
      expectOk(inContainer(a, 'cd "$1"; echo three >> shared/notes; touch shared/from-b/by-a; rm b.txt; echo again > b.txt'));
      // Inside each container the files belong to its own root.
      for (const ct of [a, b])
        expect(expectOk(inContainer(ct, 'cd "$1"; stat -c "%u:%g %n" . shared/notes shared/a.txt b.txt'))).toBe(
          '0:0 .\n0:0 shared/notes\n0:0 shared/a.txt\n0:0 b.txt\n',
        );
      expect(fs.readFileSync(path.join(volume, 'shared', 'notes'), 'utf8')).toBe('one\ntwo\nthree\n');
      expect((fs.statSync(path.join(volume, 'shared', 'a.txt')).mode & 0o777).toString(8)).toBe('640');
      const owners = ownersOnDisk(volume);
      expect(Object.keys(owners).sort()).toEqual(['.', 'b.txt', 'shared', 'shared/a.txt', 'shared/from-b', 'shared/from-b/by-a', 'shared/notes']);
      expect(new Set(Object.values(owners))).toEqual(new Set(['100000:100000']));
    });

    test("without the idmapped mount B cannot write (EACCES): the volume is not its root's", () => {
      const result = withoutIdmappedMount(b, 'stat -c "%u:%g" "$1"; echo b > "$1/b.txt"');
      expect(result.stdout).toBe('65534:65534\n');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/Permission denied/);
      expect(fs.readdirSync(volume)).toEqual([]);
    });
  });

  describe('a container-side owner: UID/GID 33 with a 33 33 1 passthrough and on the default map, one disk owner 100033', () => {
    const user = { uid: 33, gid: 33 };
    const onDefaultMap: Container = { name: 'default', conf: conf(), idmap: 'u:33:100033:1;g:33:100033:1' };
    const passthrough33: Container = {
      name: 'passthrough',
      conf: conf('u 0 100000 33', 'g 0 100000 33', 'u 33 33 1', 'g 33 33 1', 'u 34 100034 65502', 'g 34 100034 65502'),
      idmap: 'u:33:100033:1;g:33:100033:1',
    };

    beforeEach(() => fs.chownSync(volume, 100033, 100033));

    test('these are the idmap= values the planner writes for owner { uid: 33, gid: 33 } on a tree owned 100033:100033', () => {
      expect(plannedIdmaps(user, { uid: 100033, gid: 100033 }, [onDefaultMap, passthrough33])).toEqual({
        default: onDefaultMap.idmap,
        passthrough: passthrough33.idmap,
      });
    });

    test("the passthrough container's 33 (host 33) is mapped to disk 100033; its other ids keep their lxc.idmap host ids", () => {
      expect(kernelMaps(passthrough33).mount).toBe(
        'u:100000:100000:33;u:100033:33:1;u:100034:100034:65502;g:100000:100000:33;g:100033:33:1;g:100034:100034:65502',
      );
    });

    test('33 in both containers creates and changes files through the mounts; on disk every file is 100033:100033', () => {
      expectOk(inContainer(onDefaultMap, 'cd "$1"; mkdir www; echo index > www/index.html', user));
      expectOk(inContainer(passthrough33, 'cd "$1"; echo more >> www/index.html; echo css > www/site.css; chmod 0664 www/site.css', user));
      expectOk(inContainer(onDefaultMap, 'cd "$1"; mv www/site.css www/style.css; echo upload > www/upload', user));
      for (const ct of [onDefaultMap, passthrough33]) {
        expect(expectOk(inContainer(ct, 'cd "$1"; id -u; stat -c "%u:%g %n" www www/index.html www/style.css', user))).toBe(
          '33\n33:33 www\n33:33 www/index.html\n33:33 www/style.css\n',
        );
      }
      expect(fs.readFileSync(path.join(volume, 'www', 'index.html'), 'utf8')).toBe('index\nmore\n');
      expect(new Set(Object.values(ownersOnDisk(volume)))).toEqual(new Set(['100033:100033']));
      expect(Object.keys(ownersOnDisk(volume)).sort()).toEqual(['.', 'www', 'www/index.html', 'www/style.css', 'www/upload']);
    });

    test('without the idmapped mount 33 of the passthrough container cannot write (EACCES)', () => {
      const result = withoutIdmappedMount(passthrough33, 'echo x > "$1/x"', user);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/Permission denied/);
      expect(fs.readdirSync(volume)).toEqual([]);
    });
  });

  describe('bad input stops before anything is mounted', () => {
    test('a MAP entry that is not u|g:INSIDE:OUTSIDE:COUNT is refused by the helper (exit 125), naming the form', () => {
      const target = path.join(base, 'mnt');
      fs.mkdirSync(target);
      for (const map of ['u:0:100000', 'x:0:100000:1', 'u:0:100000:0', 'u:0:100000:1,g:0:100000:1', 'u:0:100000:1;$(touch /tmp/x)']) {
        const result = runAsContainer(helper, { container: 'u:0:100000:65536;g:0:100000:65536', mounts: [{ source: volume, target, map }], script: 'true' });
        expect({ map, status: result.status }).toEqual({ map, status: 125 });
        expect(result.stderr).toMatch(/MAP entr(y is not u\|g:INSIDE:OUTSIDE:COUNT|ies are separated by ';')/);
      }
    });

    test("the oracle refuses idmap= values that fail pve-container's format check", () => {
      for (const value of ['u:0:100000:0', 'u:0:100000', 'u:0:100000:1;', 'u:0:100000:1,g:0:100000:1', 'passthrough;u:0:0:1']) {
        expect(() => mountIdmapAsPveReadsIt(value)).toThrow(`idmap=${value} fails pve-container's format check`);
      }
      expect(mountIdmapAsPveReadsIt('passthrough')).toBe('passthrough');
      const defaultMap = lxcIdmapAsPveReadsIt(conf());
      expect(mountUsernsMapAsPveResolvesIt(defaultMap, 'passthrough')).toEqual(defaultMap);
    });
  });

  describe('a file system that cannot take an idmapped mount refuses it (EINVAL); one that can takes the same mount', () => {
    const b: Container = { name: 'B', conf: conf('u 0 300000 65536', 'g 0 300000 65536'), idmap: 'u:0:100000:1;g:0:100000:1' };
    const run = (source: string, target: string): ContainerRun => {
      fs.mkdirSync(target, { recursive: true });
      const maps = kernelMaps(b);
      return { container: maps.container, mounts: [{ source, target, map: maps.mount }], script: 'stat -c %u:%g "$1"', args: [target] };
    };
    const refusal = (source: string) => new RegExp(`mount_setattr\\(MOUNT_ATTR_IDMAP\\) on ${source}: Invalid argument \\(EINVAL\\)`);

    test('FUSE (a server that did not ask for idmapped mounts)', () => {
      const fuse = path.join(base, 'fuse');
      fs.mkdirSync(fuse);
      const result = runAsContainer(helper, { ...run(fuse, path.join(base, 'mnt')), fuse });
      expect(result.stderr).toMatch(refusal(fuse));
      expect(result.status).toBe(IDMAP_REFUSED_STATUS);
    });

    test('ramfs refuses; tmpfs and ext4 (/tmp here) take the same mount', () => {
      const dir = path.join(base, 'fresh');
      fs.mkdirSync(dir);
      const ramfs = runOnFreshFilesystem(helper, 'ramfs', dir, run(dir, path.join(base, 'mnt')));
      expect(ramfs.stderr).toMatch(refusal(dir));
      expect(ramfs.status).toBe(IDMAP_REFUSED_STATUS);
      // Host root owns the fresh root: through B's mount it shows as unmapped (nobody), and the mount was made.
      expect(runOnFreshFilesystem(helper, 'tmpfs', dir, run(dir, path.join(base, 'mnt')))).toEqual({ status: 0, stdout: '65534:65534\n', stderr: '' });
      expect(runAsContainer(helper, run(volume, path.join(base, 'mnt')))).toEqual({ status: 0, stdout: '65534:65534\n', stderr: '' });
    });
  });
});
