import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WalkEngineChoice } from '../../domain/walkEngine';

/**
 * Finds the native walk helper for this machine and checks it before it may run. In order, the first that
 * exists decides (a later one is never a silent stand-in for a refused earlier one):
 *   1. $SHAREMOUNT_WALK_HELPER, the operator's (or a test's) own;
 *   2. dist/native/sharemount-walk, built here from source when asked (scripts/build-native.sh --here);
 *   3. prebuilt/linux-<process.arch>/sharemount-walk from the release (scripts/build-native.sh).
 * Each runs only when `<helper>.sha256` (sha256sum's format) names its SHA-256; a missing, unreadable or
 * different checksum, or a helper that is not executable, leaves the Node engine with the reason. The check
 * catches a corrupt, truncated or swapped binary; whoever can rewrite both files can rewrite this code too.
 */

export const HELPER_NAME = 'sharemount-walk';
/** The package's root, from src/host/walk (tests) and dist/host/walk (the built CLI and worker) alike. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

export function prebuiltHelperPath(arch: string = process.arch): string {
  return path.join(PACKAGE_ROOT, 'prebuilt', `linux-${arch}`, HELPER_NAME);
}

export const BUILT_HERE_HELPER = path.join(PACKAGE_ROOT, 'dist', 'native', HELPER_NAME);

function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The helper's own SHA-256 when it is executable and matches `<helper>.sha256`, else why not. */
export function verifyHelper(helper: string): { sha256: string } | { problem: string } {
  try {
    fs.accessSync(helper, fs.constants.X_OK);
  } catch (error) {
    return { problem: `${helper} is not executable (${(error as NodeJS.ErrnoException).code})` };
  }
  let recorded: string;
  try {
    recorded = fs.readFileSync(`${helper}.sha256`, 'utf8');
  } catch (error) {
    return { problem: `${helper} has no checksum file ${helper}.sha256 (${(error as NodeJS.ErrnoException).code}); refused` };
  }
  const expected = /^([0-9a-f]{64})\s/i.exec(recorded)?.[1]?.toLowerCase();
  if (!expected) return { problem: `${helper}.sha256 holds no SHA-256; ${helper} refused` };
  const actual = sha256Of(helper);
  if (actual !== expected) return { problem: `checksum mismatch: ${helper} has sha256 ${actual}, ${helper}.sha256 says ${expected}; refused` };
  return { sha256: actual };
}

function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** The native helper this machine would run, checked, or the reason the Node engine runs instead. */
export function findWalkHelper(env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): WalkEngineChoice {
  if (process.platform !== 'linux') return { engine: 'node', reason: `the native helper is for Linux only (this is ${process.platform})` };
  const explicit = env.SHAREMOUNT_WALK_HELPER;
  const [source, helper] = explicit
    ? (['explicit', explicit] as const)
    : exists(BUILT_HERE_HELPER)
      ? (['built-here', BUILT_HERE_HELPER] as const)
      : (['prebuilt', prebuiltHelperPath(arch)] as const);
  if (source === 'prebuilt' && !exists(helper)) {
    return {
      engine: 'node',
      reason: `no prebuilt helper for linux-${arch} (${helper}) and none built here (npm run build:walk-here builds one with gcc)`,
    };
  }
  const verified = verifyHelper(helper);
  if ('problem' in verified) return { engine: 'node', reason: verified.problem };
  return { engine: 'native', source, helper, sha256: verified.sha256 };
}
