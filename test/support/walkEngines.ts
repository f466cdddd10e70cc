import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prebuiltHelperPath, verifyHelper } from '../../src/host/walk/helper';

/**
 * The walk engines the walk tests run on: the Node engine, the native helper this machine picks (the x86_64
 * prebuilt one here), and the arm64 prebuilt helper under qemu-user. The helper is spawned by path, so the
 * arm64 one is reached through a wrapper script that execs `qemu-aarch64-static <helper>` (binfmt need not be
 * registered), named by SHAREMOUNT_WALK_HELPER with a checksum file of its own like any helper.
 */
export const WALK_ENGINES = ['node', 'native', 'native-arm64'] as const;
export type WalkEngineName = (typeof WALK_ENGINES)[number];

/** The `engine` option the walk gets: the arm64 helper is a native engine reached through the environment. */
export const engineOption = (name: WalkEngineName): 'node' | 'native' => (name === 'node' ? 'node' : 'native');

export const ARM64_HELPER = prebuiltHelperPath('arm64');

/**
 * Writes the qemu wrapper for the arm64 prebuilt helper and returns its path. Throws (never skips) when the
 * helper, its checksum or qemu is missing: scripts/install-system-deps.sh and npm run build provide them.
 */
export function arm64HelperWrapper(): string {
  const verified = verifyHelper(ARM64_HELPER);
  if ('problem' in verified) throw new Error(`the arm64 prebuilt helper is not usable (npm run build makes it): ${verified.problem}`);
  let qemu: string;
  try {
    qemu = execFileSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('qemu-aarch64-static is missing (apt-get install qemu-user-static, or scripts/install-system-deps.sh)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-arm64-'));
  const wrapper = path.join(dir, 'sharemount-walk');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${qemu}' '${ARM64_HELPER}' "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(`${wrapper}.sha256`, `${execFileSync('sha256sum', [wrapper], { encoding: 'utf8' }).split(' ')[0]}  sharemount-walk\n`);
  return wrapper;
}

/** In a describe block: points SHAREMOUNT_WALK_HELPER at the engine's helper for its tests, then restores it. */
export function useWalkEngine(name: WalkEngineName): void {
  if (name !== 'native-arm64') return;
  const previous = process.env.SHAREMOUNT_WALK_HELPER;
  let wrapper: string | undefined;
  beforeAll(() => {
    wrapper = arm64HelperWrapper();
    process.env.SHAREMOUNT_WALK_HELPER = wrapper;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.SHAREMOUNT_WALK_HELPER;
    else process.env.SHAREMOUNT_WALK_HELPER = previous;
    if (wrapper) fs.rmSync(path.dirname(wrapper), { recursive: true, force: true });
  });
}

const MOUNT_ID_PROBE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
int main(void) {
  struct statx a, b;
  if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &a) || statx(AT_FDCWD, "/proc", 0, STATX_MNT_ID, &b)) return 2;
  printf("%llu %llu\\n", (unsigned long long)a.stx_mnt_id, (unsigned long long)b.stx_mnt_id);
  return 0;
}
`;

let hidden: string | false | undefined;

/**
 * Why the arm64 helper under qemu cannot see mounts, or false: qemu-user 7.2 (Debian 12) sets STATX_MNT_ID in
 * statx's mask but leaves stx_mnt_id 0, so "/" and "/proc" look like one mount to any arm64 program. Probed
 * with a program of its own (never with the helper under test), built with the toolchain that built the helper.
 */
export function emulatorHidesMountIds(): string | false {
  if (hidden !== undefined) return hidden;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-mntid-'));
  try {
    fs.writeFileSync(path.join(dir, 'probe.c'), MOUNT_ID_PROBE);
    execFileSync('aarch64-linux-gnu-gcc', ['-static', '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')]);
    const [root, proc] = execFileSync('qemu-aarch64-static', [path.join(dir, 'probe')], { encoding: 'utf8' })
      .trim()
      .split(' ');
    const version = execFileSync('qemu-aarch64-static', ['--version'], { encoding: 'utf8' }).split('\n')[0];
    hidden = root === proc ? `${version} reports mount id ${root} for both / and /proc` : false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return hidden;
}

/**
 * `it`, except for a test that needs mount ids on an engine whose emulator hides them: then skipped, with the
 * probed reason in its name (so the report shows it), since the helper cannot be told a mount it is not shown.
 */
export function itNeedingMountIds(name: WalkEngineName): (title: string, test: () => Promise<void>) => void {
  const reason = name === 'native-arm64' && emulatorHidesMountIds();
  if (!reason) return (title, test) => it(title, test);
  return (title, test) => it.skip(`${title} [skipped: ${reason}]`, test);
}
