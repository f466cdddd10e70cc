import * as fs from 'node:fs';
import * as path from 'node:path';
import { walkOwnership } from '../../src/host/walk/nodeEngine';
import { makeTree, mount, owner, scratchDir, unmount } from './lxc-support';

/**
 * Container root can write into the volume, so it can plant anything there. Whatever it plants, host files
 * outside the volume keep their owner and mode.
 */
const TARGET = { uid: 100000, gid: 100000 };

interface HostFile {
  file: string;
  owner: string;
  mode: number;
}

function hostFile(dir: string, name: string): HostFile {
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'host secret');
  fs.chmodSync(file, 0o640);
  return { file, owner: '0:0', mode: fs.lstatSync(file).mode };
}

function expectUntouched(...files: HostFile[]): void {
  for (const f of files) {
    expect(owner(f.file)).toBe(f.owner);
    expect(fs.lstatSync(f.file).mode).toBe(f.mode);
  }
}

describe('the ownership walk under attack', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const target of mounts.reverse()) unmount(target);
  });

  function setup() {
    const base = scratchDir('attack');
    const outside = path.join(base, 'host');
    const root = path.join(base, 'vol');
    fs.mkdirSync(outside);
    fs.mkdirSync(root);
    return { base, outside, root };
  }

  it('leaves symlinks alone and never follows them (files, directories, loops)', () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'shadow');
    fs.symlinkSync(secret.file, path.join(root, 'to-file'));
    fs.symlinkSync(outside, path.join(root, 'to-dir'));
    fs.mkdirSync(path.join(root, 'loop'));
    fs.symlinkSync('..', path.join(root, 'loop', 'up'));
    fs.symlinkSync('self', path.join(root, 'self'));
    const result = walkOwnership(root, TARGET);
    expectUntouched(secret);
    expect(owner(outside)).toBe('0:0');
    expect(owner(path.join(root, 'to-file'))).toBe('0:0'); // the link itself is left as it was, by design
    expect(result).toMatchObject({ skippedSymlinks: 4, changed: 2 }); // loop/ and the root
  });

  it('refuses a hard link to a host file and a device node, and reports them', () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'passwd');
    fs.linkSync(secret.file, path.join(root, 'hard'));
    fs.writeFileSync(path.join(root, 'plain'), 'x');
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    const result = walkOwnership(root, TARGET);
    expectUntouched(secret);
    expect(owner(path.join(root, 'null'))).toBe('0:0');
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
    expect(result.refusedCount).toBe(2);
    expect(result.refused).toEqual([
      { path: path.join(fs.realpathSync(root), 'hard'), reason: expect.stringMatching(/2 hard links/) },
      { path: path.join(fs.realpathSync(root), 'null'), reason: expect.stringMatching(/device node/) },
    ]);
  });

  it('does not cross into a bind mount inside the volume, even of the same file system', () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'key');
    fs.mkdirSync(path.join(root, 'mnt'));
    mount(['--bind', outside, path.join(root, 'mnt')]);
    mounts.push(path.join(root, 'mnt'));
    fs.writeFileSync(path.join(root, 'plain'), 'x');
    const result = walkOwnership(root, TARGET, { fullScan: true });
    expectUntouched(secret);
    expect(owner(outside)).toBe('0:0');
    expect(result.skippedMounts).toBe(1);
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
  });

  it('a directory that is mounted but not listed in mountinfo is still caught by its mount id', () => {
    const { base, outside, root } = setup();
    const secret = hostFile(outside, 'key');
    fs.mkdirSync(path.join(root, 'mnt'));
    mount(['--bind', outside, path.join(root, 'mnt')]);
    mounts.push(path.join(root, 'mnt'));
    const emptyMountInfo = path.join(base, 'mountinfo');
    fs.writeFileSync(emptyMountInfo, '');
    const result = walkOwnership(root, TARGET, { fullScan: true, mountInfoFile: emptyMountInfo });
    expectUntouched(secret);
    expect(result.skippedMounts).toBe(1);
  });

  it('a directory swapped for a symlink while the walk is inside it: the walk stays in the real directory', () => {
    const { outside, root } = setup();
    const secrets = ['f1', 'f2', 'f3', 'f4'].map((name) => hostFile(outside, name));
    makeTree(root, ['a/f1', 'a/f2', 'a/f3', 'a/f4', 'z/f1']);
    const result = walkOwnership(root, TARGET, {
      progressEvery: 1,
      onProgress: ({ cursor }) => {
        if (cursor.join('/') !== 'a/f1') return;
        // the attacker moves the directory away and points its name at the host, mid-walk
        fs.renameSync(path.join(root, 'a'), path.join(root, 'a-moved'));
        fs.symlinkSync(outside, path.join(root, 'a'));
        // and swaps a directory the walk has not reached yet
        fs.renameSync(path.join(root, 'z'), path.join(root, 'z-moved'));
        fs.symlinkSync(outside, path.join(root, 'z'));
      },
    });
    expectUntouched(...secrets);
    expect(owner(outside)).toBe('0:0');
    // the held descriptor kept the walk in the directory it listed, now called a-moved
    for (const name of ['f1', 'f2', 'f3', 'f4']) expect(owner(path.join(root, 'a-moved', name))).toBe('100000:100000');
    expect(owner(path.join(root, 'a-moved'))).toBe('100000:100000');
    expect(result.skippedSymlinks).toBe(1); // z, found as a symlink when its turn came
  });

  it('refuses to start on a root that is itself a symlink', () => {
    const { base, outside } = setup();
    const secret = hostFile(outside, 'x');
    fs.symlinkSync(outside, path.join(base, 'link-root'));
    expect(() => walkOwnership(path.join(base, 'link-root'), TARGET)).toThrow(/ELOOP|ENOTDIR/);
    expectUntouched(secret);
  });
});
