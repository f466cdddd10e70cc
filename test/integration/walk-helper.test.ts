import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { walkEngineChoice, walkOwnership, type WalkResult } from '../../src/host/walk';
import { prebuiltHelperPath } from '../../src/host/walk/helper';
import { runCli } from '../support/cliProcess';
import { arm64HelperWrapper, emulatorHidesMountIds, WALK_ENGINES, engineOption, type WalkEngineName } from '../support/walkEngines';
import { allPaths, makePveDir, makeTree, mount, owner, scratchDir, STAND_IN_PCT, unmount } from './lxc-support';

/**
 * The prebuilt helpers the release carries (scripts/build-native.sh, run by npm run build) and how the walk
 * picks and checks one (src/host/walk/helper.ts): static binaries for their machine, the same results as the
 * Node engine over the attack fixtures (the arm64 one under qemu-user), and a tampered one refused and reported.
 */
const TARGET = { uid: 100000, gid: 100000 };
const REPO = path.resolve(__dirname, '../..');
const ELF_MACHINE = { x64: 62, arm64: 183 } as const;

/** e_machine, and whether the program asks for an interpreter or dynamic linking (PT_INTERP, PT_DYNAMIC). */
function elfFacts(file: string): { machine: number; dynamic: boolean } {
  const elf = fs.readFileSync(file);
  expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(elf[4]).toBe(2); // 64-bit
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const [phentsize, phnum] = [elf.readUInt16LE(0x36), elf.readUInt16LE(0x38)];
  const types = Array.from({ length: phnum }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
  return { machine: elf.readUInt16LE(0x12), dynamic: types.includes(3) || types.includes(2) };
}

function sha256sumOk(helper: string): string {
  return execFileSync('sha256sum', ['-c', `${path.basename(helper)}.sha256`], { cwd: path.dirname(helper), encoding: 'utf8' }).trim();
}

/** A copy of the x86_64 prebuilt helper and its checksum file, in a directory of its own. */
function helperCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-helper-'));
  const copy = path.join(dir, 'sharemount-walk');
  fs.copyFileSync(prebuiltHelperPath('x64'), copy);
  fs.chmodSync(copy, 0o755);
  fs.copyFileSync(`${prebuiltHelperPath('x64')}.sha256`, `${copy}.sha256`);
  return copy;
}

function withEnv<T>(name: string, value: string, run: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  return run().finally(() => (previous === undefined ? delete process.env[name] : (process.env[name] = previous)));
}

describe('prebuilt walk helpers', () => {
  it.each(['x64', 'arm64'] as const)('linux-%s: a static executable for its machine, with a matching sha256sum file', (arch) => {
    const helper = prebuiltHelperPath(arch);
    expect(elfFacts(helper)).toEqual({ machine: ELF_MACHINE[arch], dynamic: false });
    expect(sha256sumOk(helper)).toBe('sharemount-walk: OK');
    expect(fs.statSync(helper).mode & 0o111).toBe(0o111);
  });

  it('this machine picks its own prebuilt helper, checksum checked, by default', () => {
    const choice = walkEngineChoice({}, { PATH: process.env.PATH });
    const expected = fs.readFileSync(`${prebuiltHelperPath()}.sha256`, 'utf8').split(' ')[0];
    expect(choice).toEqual({ engine: 'native', source: 'prebuilt', helper: prebuiltHelperPath(), sha256: expected });
  });

  it('a node without a compiler (nothing on PATH) runs the native walk', () => {
    const root = path.join(scratchDir('nocc'), 'vol');
    makeTree(root, ['a/1', 'b']);
    const script = `require(${JSON.stringify(path.join(REPO, 'test/support/register-ts.js'))});
      const walk = require(${JSON.stringify(path.join(REPO, 'src/host/walk/index.ts'))});
      walk.walkOwnership(process.argv[1], { uid: 100000, gid: 100000 }).then((r) => console.log(JSON.stringify({ choice: walk.walkEngineChoice(), changed: r.changed })));`;
    const run = spawnSync(process.execPath, ['-e', script, root], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ choice: expect.objectContaining({ engine: 'native', source: 'prebuilt' }), changed: 4 });
    expect(allPaths(root).map(owner)).toEqual(Array(4).fill('100000:100000'));
  });
});

describe('the three engines over the attack fixtures give the same results', () => {
  const mounts: string[] = [];
  afterAll(() => mounts.splice(0).reverse().forEach(unmount));

  /** A volume with one of each thing container root can plant, and host files beside it; paths relative. */
  function plantedVolume(withBindMount: boolean) {
    const base = scratchDir('engines');
    const [outside, root] = [path.join(base, 'host'), path.join(base, 'vol')];
    makeTree(outside, ['passwd', 'key', 'dir/secret']);
    makeTree(root, ['a/1', 'a/2', 'b/c/x', 'b/d/', 'empty/', 'plain', 'own', 'mnt/']);
    fs.symlinkSync(path.join(outside, 'passwd'), path.join(root, 'to-file'));
    fs.symlinkSync(outside, path.join(root, 'a', 'to-dir'));
    fs.symlinkSync('..', path.join(root, 'b', 'up'));
    fs.linkSync(path.join(outside, 'passwd'), path.join(root, 'hard'));
    fs.linkSync(path.join(root, 'own'), path.join(root, 'b', 'own-2'));
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    execFileSync('mkfifo', [path.join(root, 'b', 'fifo')]);
    if (withBindMount) {
      mount(['--bind', path.join(outside, 'dir'), path.join(root, 'mnt')]);
      mounts.push(path.join(root, 'mnt'));
    }
    const hostOwners = () => allPaths(outside).map(owner);
    return { root, hostOwners };
  }

  async function walkWith(name: WalkEngineName, withBindMount: boolean) {
    const { root, hostOwners } = plantedVolume(withBindMount);
    const hostBefore = hostOwners();
    const walk = async () => {
      const result: WalkResult = await walkOwnership(root, TARGET, { engine: engineOption(name), fullScan: true });
      return { ...result, refused: result.refused.map((r) => ({ ...r, path: path.relative(root, r.path) })) };
    };
    const run = async () => {
      const first = await walk();
      const second = await walk(); // the root was left (refusals): the same entries again, now already right
      const owners = Object.fromEntries(allPaths(root).map((p) => [path.relative(root, p), owner(p)]));
      return { first, second, owners, hostUnchanged: JSON.stringify(hostOwners()) === JSON.stringify(hostBefore) };
    };
    return name === 'native-arm64' ? withEnv('SHAREMOUNT_WALK_HELPER', arm64HelperWrapper(), run) : run();
  }

  it('native (x86_64) and the Node engine, bind mount included', async () => {
    const node = await walkWith('node', true);
    expect(node.hostUnchanged).toBe(true);
    expect(node.first).toMatchObject({ refusedCount: 4, skippedSymlinks: 3, skippedMounts: 1, rootLeft: true });
    expect(node.first.refused.map((r) => r.path)).toEqual(['b/own-2', 'hard', 'null', 'own']);
    expect(await walkWith('native', true)).toEqual(node);
  });

  const hidden = emulatorHidesMountIds();
  it(`native-arm64 under qemu-user and the Node engine${hidden ? ` (no bind mount: ${hidden})` : ', bind mount included'}`, async () => {
    expect(WALK_ENGINES).toContain('native-arm64');
    const node = await walkWith('node', !hidden);
    expect(node.hostUnchanged).toBe(true);
    expect(await walkWith('native-arm64', !hidden)).toEqual(node);
  });
});

describe('a helper that fails its checksum', () => {
  it('is refused: the Node engine walks, the reason is reported once as a warning; engine=native fails naming it', async () => {
    const copy = helperCopy();
    const bytes = fs.readFileSync(copy);
    bytes[bytes.length - 1] ^= 0xff; // one flipped byte, still an executable of the same size
    fs.writeFileSync(copy, bytes);
    const root = path.join(scratchDir('tampered'), 'vol');
    makeTree(root, ['a/1', 'b']);
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await withEnv('SHAREMOUNT_WALK_HELPER', copy, async () => {
        const choice = walkEngineChoice();
        expect(choice).toEqual({
          engine: 'node',
          reason: expect.stringMatching(/^checksum mismatch: .*sharemount-walk has sha256 [0-9a-f]{64}, .*\.sha256 says [0-9a-f]{64}; refused$/),
        });
        const result = await walkOwnership(root, TARGET);
        expect(result).toMatchObject({ changed: 4, refusedCount: 0 });
        await walkOwnership(root, TARGET, { fullScan: true });
        await expect(walkOwnership(root, TARGET, { engine: 'native' })).rejects.toThrow(/native ownership walk cannot run: checksum mismatch/);
      });
      const ours = emitWarning.mock.calls.filter((call) => (call as unknown[])[1] === 'SharemountWalkWarning');
      expect(ours.map((call) => call[0])).toEqual([expect.stringMatching(/^ownership walk: the Node engine runs: checksum mismatch/)]);
      expect(allPaths(root).map(owner)).toEqual(Array(4).fill('100000:100000'));
    } finally {
      emitWarning.mockRestore();
      fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  });

  it('without its checksum file, or not executable, is refused with that reason', async () => {
    const copy = helperCopy();
    try {
      fs.rmSync(`${copy}.sha256`);
      await withEnv('SHAREMOUNT_WALK_HELPER', copy, async () =>
        expect(walkEngineChoice()).toEqual({ engine: 'node', reason: expect.stringMatching(/has no checksum file .*ENOENT/) }),
      );
      fs.chmodSync(copy, 0o644);
      await withEnv('SHAREMOUNT_WALK_HELPER', copy, async () =>
        expect(walkEngineChoice()).toEqual({ engine: 'node', reason: expect.stringMatching(/is not executable/) }),
      );
    } finally {
      fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  });

  it('lxc plan says so: a line in the human plan, walkEngine in --json', async () => {
    const copy = helperCopy();
    fs.appendFileSync(copy, 'x');
    const pveDir = makePveDir({ 960: { conf: 'arch: amd64\nunprivileged: 1\n' } });
    const base = scratchDir('plan-walk');
    const config = path.join(base, 'phoenix.json');
    fs.mkdirSync(path.join(base, 'vol'));
    fs.writeFileSync(
      config,
      JSON.stringify({
        version: '1',
        firewall_rules: [],
        shared_volumes: { v: { host_path: path.join(base, 'vol'), owner: 'container_root', mounts: { '960': '/v' } } },
      }),
    );
    const flags = ['lxc', 'plan', '--config', config, '--node', `plan${process.pid}`, '--pve-dir', pveDir, '--pct', STAND_IN_PCT];
    try {
      const human = await runCli(flags, { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_WALK_HELPER: copy });
      expect(human).toMatchObject({ code: 0, stderr: '' });
      expect(human.stdout).toMatch(/^walk engine: Node walk \(fallback\): checksum mismatch: .*; refused$/m);
      const json = await runCli([...flags, '--json'], { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_WALK_HELPER: copy });
      expect(JSON.parse(json.stdout).walkEngine).toEqual({ engine: 'node', reason: expect.stringMatching(/^checksum mismatch/) });
      const fine = await runCli(flags, { SHAREMOUNT_PVE_DIR: pveDir });
      expect(fine.stdout).toMatch(new RegExp(`^walk engine: native: prebuilt helper ${prebuiltHelperPath()}, sha256 ok \\([0-9a-f]{12}…\\)$`, 'm'));
    } finally {
      [pveDir, base, path.dirname(copy)].forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    }
  });
});

describe('build-native.sh --here', () => {
  it('builds from source for this machine only, with a checksum file the lookup accepts', () => {
    const copy = scratchDir('build-here');
    for (const file of ['scripts/build-native.sh', 'src/host/walk/native/sharemount-walk.c']) {
      fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      fs.copyFileSync(path.join(REPO, file), path.join(copy, file));
    }
    try {
      const out = execFileSync('bash', [path.join(copy, 'scripts/build-native.sh'), '--here'], { encoding: 'utf8' });
      expect(out).toMatch(/built here from source: dist\/native\/sharemount-walk/);
      const helper = path.join(copy, 'dist/native/sharemount-walk');
      expect(fs.existsSync(path.join(copy, 'prebuilt'))).toBe(false);
      expect(sha256sumOk(helper)).toBe('sharemount-walk: OK');
      expect(elfFacts(helper)).toEqual({ machine: ELF_MACHINE[process.arch as 'x64'], dynamic: false });
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
