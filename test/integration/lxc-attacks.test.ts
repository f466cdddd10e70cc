import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_REFUSED_PATH_BYTES, walkOwnership, WalkRootError, type WalkOptions, type WalkProgress } from '../../src/host/walk';
import { walkWithNode } from '../../src/host/walk/nodeEngine';
import { engineOption, itNeedingMountIds, useWalkEngine, WALK_ENGINES } from '../support/walkEngines';
import { makeTree, mount, owner, scratchDir, unmount } from './lxc-support';

/**
 * Container root can write into the volume, so it can plant anything there. Whatever it plants, host files
 * outside the volume keep their owner and mode. The numbered attacks are those of issue 10.
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

function setup() {
  const base = scratchDir('attack');
  const outside = path.join(base, 'host');
  const root = path.join(base, 'vol');
  fs.mkdirSync(outside);
  fs.mkdirSync(root);
  return { base, outside, root };
}

/** A python3 helper that prints "ready" once set up, then waits for stdin to close and prints its answer. */
class Peer {
  private readonly child: ChildProcess;
  private output = '';
  private readonly exited: Promise<void>;

  constructor(script: string, args: string[]) {
    this.child = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  async ready(): Promise<void> {
    while (!this.output.startsWith('ready\n')) {
      if (this.child.exitCode !== null) throw new Error(`peer exited early: ${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes its stdin; resolves to what it printed after "ready". */
  async finish(): Promise<string> {
    this.child.stdin!.end();
    await this.exited;
    return this.output.slice('ready\n'.length).trim();
  }
}

/** Holds a write lease on a file (as any container user can on a file it owns) and says whether it still holds it. */
const LEASE_HOLDER = `
import fcntl, os, signal, sys
signal.signal(signal.SIGIO, signal.SIG_IGN)  # a lease break must not kill us: we report it instead
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print('ready', flush=True)
sys.stdin.read()
print('held' if fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_WRLCK else 'broken', flush=True)
`;

/**
 * Counts how often each given directory is opened for reading (inotify IN_OPEN on the directory itself; O_PATH
 * opens make no event). A listing needs such an open, so the count bounds the listings from outside the walker.
 */
const OPEN_COUNTER = `
import ctypes, json, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
IN_OPEN, IN_ONLYDIR = 0x20, 0x01000000
watches = {libc.inotify_add_watch(fd, p.encode(), IN_OPEN | IN_ONLYDIR): p for p in sys.argv[1:]}
assert all(w >= 0 for w in watches), 'inotify_add_watch failed'
counts = {p: 0 for p in sys.argv[1:]}
def drain():
    while True:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            return
        i = 0
        while i < len(buf):
            wd, mask, cookie, length = struct.unpack_from('iIII', buf, i)
            if length == 0 and wd in watches:
                counts[watches[wd]] += 1
            i += 16 + length
print('ready', flush=True)
while True:
    readable, _, _ = select.select([fd, sys.stdin], [], [])
    drain()
    if sys.stdin in readable and not sys.stdin.buffer.read1(1):
        break
drain()
print(json.dumps(counts), flush=True)
`;

describe.each(WALK_ENGINES)('the ownership walk under attack (%s engine)', (name) => {
  useWalkEngine(name);
  const engine = engineOption(name);
  const walk = (root: string, options: WalkOptions = {}) => walkOwnership(root, TARGET, { engine, ...options });
  const itWithMountIds = itNeedingMountIds(name);
  const mounts: string[] = [];
  const immutable: string[] = [];
  afterEach(() => {
    for (const target of mounts.splice(0).reverse()) unmount(target);
    for (const file of immutable.splice(0)) execFileSync('chattr', ['-i', file]);
  });

  it('leaves symlinks alone and never follows them (files, directories, loops)', async () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'shadow');
    fs.symlinkSync(secret.file, path.join(root, 'to-file'));
    fs.symlinkSync(outside, path.join(root, 'to-dir'));
    fs.mkdirSync(path.join(root, 'loop'));
    fs.symlinkSync('..', path.join(root, 'loop', 'up'));
    fs.symlinkSync('self', path.join(root, 'self'));
    const result = await walk(root);
    expectUntouched(secret);
    expect(owner(outside)).toBe('0:0');
    expect(owner(path.join(root, 'to-file'))).toBe('0:0'); // the link itself is left as it was, by design
    expect(result).toMatchObject({ skippedSymlinks: 4, changed: 2, rootLeft: false }); // loop/ and the root
  });

  it('refuses a hard link to a host file and a device node, reports them, and leaves the root', async () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'passwd');
    fs.linkSync(secret.file, path.join(root, 'hard'));
    fs.writeFileSync(path.join(root, 'plain'), 'x');
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    const result = await walk(root);
    expectUntouched(secret);
    expect(owner(path.join(root, 'null'))).toBe('0:0');
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
    expect(result).toMatchObject({ refusedCount: 2, rootLeft: true });
    expect(owner(root)).toBe('0:0');
    expect(result.refused).toEqual([
      { path: path.join(root, 'hard'), reason: expect.stringMatching(/2 hard links/) },
      { path: path.join(root, 'null'), reason: expect.stringMatching(/device node/) },
    ]);
  });

  it('attack 3: a FIFO (any non-directory) with two links is refused, not changed', async () => {
    const { outside, root } = setup();
    const hostFifo = path.join(outside, 'fifo');
    execFileSync('mkfifo', ['-m', '600', hostFifo]);
    fs.linkSync(hostFifo, path.join(root, 'fifo-link'));
    execFileSync('mkfifo', [path.join(root, 'own-fifo')]);
    fs.linkSync(path.join(root, 'own-fifo'), path.join(root, 'own-fifo-2'));
    execFileSync('mkfifo', [path.join(root, 'single-fifo')]);
    const result = await walk(root);
    expect(owner(hostFifo)).toBe('0:0');
    expect(owner(path.join(root, 'own-fifo'))).toBe('0:0');
    expect(owner(path.join(root, 'single-fifo'))).toBe('100000:100000');
    expect(result).toMatchObject({ refusedCount: 3, changed: 1, rootLeft: true });
    expect(result.refused.map((r) => [path.basename(r.path), r.reason.match(/^\d+ hard links/)?.[0]])).toEqual([
      ['fifo-link', '2 hard links'],
      ['own-fifo', '2 hard links'],
      ['own-fifo-2', '2 hard links'],
    ]);
  });

  itWithMountIds('does not cross into a bind mount of a directory inside the volume, even of the same file system', async () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'key');
    fs.mkdirSync(path.join(root, 'mnt'));
    mount(['--bind', outside, path.join(root, 'mnt')]);
    mounts.push(path.join(root, 'mnt'));
    fs.writeFileSync(path.join(root, 'plain'), 'x');
    const result = await walk(root, { fullScan: true });
    expectUntouched(secret);
    expect(owner(outside)).toBe('0:0');
    expect(result.skippedMounts).toBe(1);
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
  });

  itWithMountIds('attack 2: a host file bind-mounted into the volume (same file system), before and during the walk, is not changed', async () => {
    const { outside, root } = setup();
    const before = hostFile(outside, 'before');
    const during = hostFile(outside, 'during');
    const duringDir = path.join(outside, 'dir');
    fs.mkdirSync(duringDir);
    const inDir = hostFile(duringDir, 'inside');
    makeTree(root, ['a/f1', 'a/f2', 'm-before', 'z-during', 'zdir/', 'plain']);
    mount(['--bind', before.file, path.join(root, 'm-before')]);
    mounts.push(path.join(root, 'm-before'));
    const result = await walk(root, {
      progressEvery: 1,
      onProgress: ({ cursor }) => {
        if (cursor.join('/') !== 'a/f1') return;
        // mounted after the walk started: no list of mount points read at the start can know them
        mount(['--bind', during.file, path.join(root, 'z-during')]);
        mounts.push(path.join(root, 'z-during'));
        mount(['--bind', duringDir, path.join(root, 'zdir')]);
        mounts.push(path.join(root, 'zdir'));
      },
    });
    expectUntouched(before, during, inDir);
    expect(owner(duringDir)).toBe('0:0');
    expect(result.skippedMounts).toBe(3);
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
  });

  it('a directory swapped for a symlink while the walk is inside it: the walk stays in the real directory', async () => {
    const { outside, root } = setup();
    const secrets = ['f1', 'f2', 'f3', 'f4'].map((name) => hostFile(outside, name));
    makeTree(root, ['a/f1', 'a/f2', 'a/f3', 'a/f4', 'z/f1']);
    const result = await walk(root, {
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

  it('attack 1: refuses a root reached through a symlink in any component, itself included', async () => {
    const { base, outside } = setup();
    // the case: volume outer/x/host where a container that owns outer made x a symlink to the host
    const hostDir = path.join(outside, 'hostdir');
    fs.mkdirSync(path.join(hostDir, 'host'), { recursive: true });
    const secret = hostFile(path.join(hostDir, 'host'), 'x');
    fs.mkdirSync(path.join(base, 'outer'));
    fs.symlinkSync(hostDir, path.join(base, 'outer', 'x'));
    fs.symlinkSync(outside, path.join(base, 'link-root'));
    for (const root of [path.join(base, 'outer', 'x', 'host'), path.join(base, 'link-root')]) {
      const failure = await walk(root).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WalkRootError);
      expect(failure).toMatchObject({ code: 'SymlinkInPath' });
    }
    expectUntouched(secret);
    expect(owner(path.join(hostDir, 'host'))).toBe('0:0');
    expect(owner(outside)).toBe('0:0');
  });

  it('attack 1: the root must be absolute and canonical, exist, be a directory, and be the one the plan saw', async () => {
    const { base, root } = setup();
    fs.writeFileSync(path.join(base, 'file'), 'x');
    const cases: [string, WalkOptions, string][] = [
      [`${base}/./vol`, {}, 'NotCanonical'],
      [`${base}/host/../vol`, {}, 'NotCanonical'],
      [`${base}//vol`, {}, 'NotCanonical'],
      [`${root}/`, {}, 'NotCanonical'],
      [path.relative(process.cwd(), root), {}, 'NotCanonical'],
      [path.join(base, 'missing'), {}, 'NotFound'],
      [path.join(base, 'file'), {}, 'NotADirectory'],
      [root, { expectedRoot: { dev: fs.statSync(root).dev, ino: fs.statSync(base).ino } }, 'RootChanged'],
    ];
    for (const [given, options, code] of cases) {
      const failure = await walk(given, options).catch((error: unknown) => error);
      expect([given, failure]).toEqual([given, expect.objectContaining({ name: 'WalkRootError', code })]);
    }
    expect(owner(root)).toBe('0:0');
    const { dev, ino } = fs.statSync(root);
    expect(await walk(root, { expectedRoot: { dev, ino } })).toMatchObject({ changed: 1 });
  });

  it('attack 4: the root check of a large converged volume heartbeats, keeps the event loop free, lists no directory twice', async () => {
    const { root } = setup();
    // tmpfs: 200k files are made in seconds, and gone with the unmount
    mount(['-t', 'tmpfs', '-o', 'size=1g,mode=755', 'tmpfs', root]);
    mounts.push(root);
    const dirs = Array.from({ length: 8 }, (_, i) => path.join(root, `s${i}`));
    for (const dir of dirs) {
      fs.mkdirSync(dir);
      for (let start = 0; start < 25_000; start += 2500) {
        execFileSync(
          'touch',
          Array.from({ length: 2500 }, (_, i) => `f${String(start + i).padStart(6, '0')}`),
          { cwd: dir },
        );
      }
    }
    execFileSync('chown', ['-R', '100000:100000', root]);
    const counter = new Peer(OPEN_COUNTER, [root, ...dirs]);
    let opens: Record<string, number> = {};
    let longestLag = 0;
    const reports: { at: number; progress: WalkProgress }[] = [];
    let started = 0;
    let ended = 0;
    let result;
    try {
      await counter.ready();
      let tick = Date.now();
      const lag = setInterval(() => {
        longestLag = Math.max(longestLag, Date.now() - tick);
        tick = Date.now();
      }, 5);
      started = Date.now();
      result = await walk(root, {
        sampleSize: 32,
        progressEvery: 1e9,
        progressIntervalMs: 20,
        onProgress: (progress) => void reports.push({ at: Date.now(), progress }),
      }).finally(() => clearInterval(lag));
      ended = Date.now();
    } finally {
      opens = JSON.parse(await counter.finish()) as Record<string, number>;
    }
    expect(result).toMatchObject({ skippedByRootCheck: true, changed: 0 });
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const { progress } of reports) expect(progress).toMatchObject({ phase: 'sample', cursor: [] });
    const times = [started, ...reports.map((r) => r.at), ended];
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...gaps)).toBeLessThan(1000);
    if (engine === 'node') expect(longestLag).toBeLessThan(500);
    // 32 descents over 8 directories: a check that listed a directory per descent opens one at least 4 times
    expect(opens).toEqual(Object.fromEntries([root, ...dirs].map((dir) => [dir, 1])));
  }, 300_000);

  it('attack 5: a deep tree of long names gives a bounded result, and refusals are kept across a resume', async () => {
    const { outside, root } = setup();
    const secret = hostFile(outside, 'linked');
    const name = 'L'.repeat(255);
    // 200 levels of 255-byte names (a 51 kB path, beyond PATH_MAX: made one level at a time), then 120
    // hard links to a host file at the bottom: 120 refusals of 51 kB paths would be a 6 MB result
    execFileSync('python3', [
      '-c',
      'import os, sys\nos.chdir(sys.argv[1])\nfor _ in range(200):\n    os.mkdir(sys.argv[2]); os.chdir(sys.argv[2])\nfor i in range(120):\n    os.link(sys.argv[3], "h%03d" % i)',
      root,
      name,
      secret.file,
    ]);
    let last: WalkProgress | undefined;
    await expect(
      walk(root, {
        progressEvery: 10,
        onProgress: (p) => {
          last = p;
          if (p.counts.refusedCount >= 30) throw new Error('worker died');
        },
      }),
    ).rejects.toThrow('worker died');
    expect(last!.refused.length).toBe(last!.counts.refusedCount);
    expect(last!.refused.length).toBeGreaterThanOrEqual(30);
    const result = await walk(root, { resumeFrom: last });
    expectUntouched(secret);
    // the 200 directories converge; only the root is left, because of the refusals beneath it
    expect(result).toMatchObject({ refusedCount: 120, rootLeft: true, changed: 200 });
    expect(result.refused).toHaveLength(100);
    expect(result.refused.slice(0, last!.refused.length)).toEqual(last!.refused);
    for (const { path: refusedPath } of [...result.refused, ...last!.refused]) {
      expect(Buffer.byteLength(refusedPath)).toBeLessThanOrEqual(MAX_REFUSED_PATH_BYTES);
      expect(refusedPath.startsWith(`${root}/${name}`)).toBe(true);
    }
    expect(new Set(result.refused.map((r) => r.path.slice(-4))).size).toBe(100);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(200 * 1024);
    expect(Buffer.byteLength(JSON.stringify(last))).toBeLessThan(200 * 1024 + 255 * 201);
  });

  it('attack 6: a file lease held by a container user neither blocks nor aborts the walk, and is not broken', async () => {
    const { root } = setup();
    makeTree(root, ['a', 'leased', 'z']);
    const holder = new Peer(LEASE_HOLDER, [path.join(root, 'leased')]);
    await holder.ready();
    const result = await walk(root);
    expect(await holder.finish()).toBe('held');
    expect(result).toMatchObject({ changed: 4, refusedCount: 0, rootLeft: false });
    expect(owner(path.join(root, 'leased'))).toBe('100000:100000');
  });

  it('attack 8: an immutable file is refused with its reason; the walk completes and leaves the root', async () => {
    const { root } = setup();
    makeTree(root, ['a', 'locked', 'z']);
    execFileSync('chattr', ['+i', path.join(root, 'locked')]);
    immutable.push(path.join(root, 'locked'));
    const result = await walk(root);
    expect(result).toMatchObject({ changed: 2, refusedCount: 1, rootLeft: true });
    expect(result.refused).toEqual([{ path: path.join(root, 'locked'), reason: expect.stringMatching(/EPERM/) }]);
    expect(owner(path.join(root, 'locked'))).toBe('0:0');
    expect(owner(path.join(root, 'z'))).toBe('100000:100000');
    expect(owner(root)).toBe('0:0');
  });
});

describe('the Node engine when /proc/self/fdinfo cannot be read', () => {
  it('attack 7 (fdinfo failure injected: EMFILE at exactly that read cannot be produced on demand): a refusal, never "another mount" nor success', async () => {
    const { root } = setup();
    makeTree(root, ['dir/inner', 'file', 'plain']);
    const victims = new Set(['dir', 'file'].map((name) => fs.lstatSync(path.join(root, name)).ino));
    const result = await walkWithNode(root, TARGET, {
      readFdInfo: (fd) => {
        if (victims.has(fs.fstatSync(fd).ino)) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
        return fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
      },
    });
    expect(result).toMatchObject({ refusedCount: 2, skippedMounts: 0, rootLeft: true });
    expect(result.refused).toEqual([
      { path: path.join(root, 'dir'), reason: expect.stringMatching(/cannot tell which mount/) },
      { path: path.join(root, 'file'), reason: expect.stringMatching(/cannot tell which mount/) },
    ]);
    for (const name of ['dir', 'dir/inner', 'file', '.']) expect(owner(path.join(root, name))).toBe('0:0');
    expect(owner(path.join(root, 'plain'))).toBe('100000:100000');
  });
});
