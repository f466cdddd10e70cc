/**
 * Suites that need something from the machine (root and mount namespaces, Debian's chromium, shellcheck) say
 * so with describeNeeding instead of a bare describe.skip. Where a need is missing, the suite is skipped with
 * a warning naming it, so a laptop without chromium still runs the rest. With SHAREMOUNT_REQUIRE_TOOLS=1 (CI
 * sets it in .ci/run) the same suite fails instead, naming what is missing and how to get it, so a CI machine
 * without the tool cannot stay green by running less. scripts/install-system-deps.sh installs every tool
 * named here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxUnavailableReason } from '../../src/sandbox/instanceSandbox';

const REQUIRE_TOOLS_VARIABLE = 'SHAREMOUNT_REQUIRE_TOOLS';

export interface Need {
  /** What the suite needs, in words ("Debian's chromium"). */
  name: string;
  /** Why it is missing and how to get it; undefined when it is there. */
  missing: string | undefined;
}

/** As `command -v` finds it: an executable file in a directory of PATH. */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, command), fs.constants.X_OK);
        return fs.statSync(path.join(dir, command)).isFile();
      } catch {
        return false;
      }
    });
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const needs = {
  /** Instance sandboxes and the host-walk attacks: mount namespaces, mount, unshare, chown. */
  rootNamespaces: (): Need => ({ name: 'root with Linux mount namespaces', missing: sandboxUnavailableReason() }),
  chromium: (): Need => ({
    name: "Debian's chromium",
    missing: fs.existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install chromium); no browser is ever downloaded`,
  }),
  shellcheck: (): Need => ({ name: 'shellcheck', missing: onPath('shellcheck') ? undefined : 'shellcheck is not on PATH (apt-get install shellcheck)' }),
  /** The stand-in mount.efs plays an access point's identity with bindfs over FUSE. */
  bindfs: (): Need => ({
    name: "Debian's bindfs with /dev/fuse",
    missing: !onPath('bindfs')
      ? 'bindfs is not on PATH (apt-get install bindfs)'
      : fs.existsSync('/dev/fuse')
        ? undefined
        : '/dev/fuse is missing (modprobe fuse)',
  }),
};

function toolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[REQUIRE_TOOLS_VARIABLE];
  return value !== undefined && value !== '' && value !== '0';
}

/** What a suite does about its needs: run, skip (saying why), or fail (saying why). */
function decideNeeds(needsOfSuite: readonly Need[], required = toolsRequired()): { run: true } | { run: false; fail: boolean; why: string } {
  const missing = needsOfSuite.filter((need) => need.missing !== undefined);
  if (missing.length === 0) return { run: true };
  const why = missing.map((need) => `${need.name}: ${need.missing}`).join('; ');
  return { run: false, fail: required, why };
}

/**
 * describe(name, body) when every need is met. Otherwise the body is skipped, and with
 * SHAREMOUNT_REQUIRE_TOOLS=1 one test in its place fails with what is missing.
 */
export function describeNeeding(needsOfSuite: readonly Need[], name: string, body: () => void): void {
  const decision = decideNeeds(needsOfSuite);
  if (decision.run) {
    describe(name, body);
    return;
  }
  if (decision.fail) {
    describe(name, () => {
      test(`needs ${decision.why}`, () => {
        throw new Error(`missing on this machine: ${decision.why} (${REQUIRE_TOOLS_VARIABLE} is set, so this fails instead of skipping)`);
      });
    });
    return;
  }
  console.warn(`skipped "${name}": ${decision.why} (set ${REQUIRE_TOOLS_VARIABLE}=1 to make this a failure)`);
  describe.skip(name, body);
}
