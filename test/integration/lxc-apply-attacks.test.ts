import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import { parseLxcConfig } from '../../src/domain/lxc/config';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import type { LxcApplyResult } from '../../src/workflows';
import { runCli } from '../support/cliProcess';
import { testClient, withWorker } from '../support/temporal';
import { allPaths, makePveDir, makeTree, owner, pctCalls, scratchDir, STAND_IN_PCT } from './lxc-support';

/**
 * The attacks of the walk review, end to end: the real apply workflow on a real Temporal server, the real
 * activities on real files, the stand-in pct, for each walk engine. Container root writes in its volume, so it
 * can rename and replace anything there, also between the plan and the walk.
 */
describe.each(['node', 'native'] as const)('lxc apply under attack (%s walk)', (engine) => {
  const node = `attack-${engine}-${process.pid}`;
  const previousEngine = process.env.SHAREMOUNT_WALK_ENGINE;
  beforeAll(() => (process.env.SHAREMOUNT_WALK_ENGINE = engine));
  afterAll(() => (previousEngine === undefined ? delete process.env.SHAREMOUNT_WALK_ENGINE : (process.env.SHAREMOUNT_WALK_ENGINE = previousEngine)));

  /** CT 101 mounts `outer` (so its root can write there), CT 102 is the victim whose volume lies below. */
  function host() {
    const base = scratchDir(`attack-${engine}`);
    const outer = path.join(base, 'outer');
    const inner = path.join(outer, 'x', 'host');
    const secret = path.join(base, 'etc-like');
    makeTree(inner, ['model.bin']);
    makeTree(path.join(secret, 'host'), ['shadow', 'sub/key']);
    const pveDir = makePveDir({
      101: { conf: `arch: amd64\nunprivileged: 1\nmp0: ${outer},mp=/outer\n`, running: true },
      102: { conf: 'arch: amd64\nunprivileged: 1\n', running: true },
    });
    const pctLog = path.join(pveDir, 'pct.log');
    const env = { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: pctLog };
    const activities = createLxcActivities({ pveDir, pct: STAND_IN_PCT, pctEnv: env, runningDir: path.join(pveDir, 'running') });
    const config = path.join(base, 'phoenix_hypervisor_config.json');
    const pctSets = () => pctCalls(pctLog).filter((call) => call[0] === 'set');
    return { base, outer, inner, secret, pveDir, env, activities, config, pctSets };
  }

  const owners = (root: string) => allPaths(root).map((p) => `${path.relative(root, p)}=${owner(p)}`);

  async function apply(volumes: object, activities: object): Promise<LxcApplyResult> {
    const { client, close } = await testClient();
    try {
      const parsed = parseLxcConfig(JSON.stringify({ shared_volumes: volumes }));
      return await withWorker({ taskQueue: lxcTaskQueue(node), activities }, () =>
        client.workflow.execute('lxcApplyWorkflow', {
          taskQueue: lxcTaskQueue(node),
          workflowId: `attack-${engine}-${Date.now()}`,
          workflowExecutionTimeout: '90 seconds',
          args: [{ node, volumes: parsed.volumes, fixDrift: false, fullScan: false }],
        }),
      );
    } finally {
      await close();
    }
  }

  it('a host path inside another volume is refused by plan and apply, naming both; nothing changes', async () => {
    const h = host();
    fs.writeFileSync(
      h.config,
      JSON.stringify({
        shared_volumes: {
          outer: { host_path: h.outer, owner: 'container_root', mounts: { '101': '/outer' } },
          victim: { host_path: h.inner, owner: 'container_root', mounts: { '102': '/data' } },
        },
      }),
    );
    const before = owners(h.base);
    for (const command of ['plan', 'apply']) {
      const result = await runCli(['lxc', command, '--config', h.config, '--node', node, '--pve-dir', h.pveDir, '--pct', STAND_IN_PCT], h.env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`shared_volumes\\.victim\\.host_path: ${h.inner} lies inside the host path of volume outer \\(${h.outer}\\)`));
    }
    expect(owners(h.base)).toEqual(before);
    expect(h.pctSets()).toEqual([]);
  });

  it('a symlink in a parent component is refused by plan, naming the component and the canonical path', async () => {
    const h = host();
    const link = path.join(h.base, 'via-link');
    fs.symlinkSync(h.outer, link);
    fs.writeFileSync(
      h.config,
      JSON.stringify({ shared_volumes: { victim: { host_path: path.join(link, 'x', 'host'), owner: 'container_root', mounts: { '102': '/data' } } } }),
    );
    const before = owners(h.base);
    const plan = await runCli(['lxc', 'plan', '--json', '--config', h.config, '--node', node, '--pve-dir', h.pveDir, '--pct', STAND_IN_PCT], h.env);
    const parsed = JSON.parse(plan.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.volumes[0].errors).toEqual([{ field: 'shared_volumes.victim.host_path', problem: expect.stringContaining(`${link} is a symlink`) }]);
    expect(parsed.volumes[0].errors[0].problem).toContain(`its canonical path is ${h.inner}`);
    // the plan also sees that CT 101 binds a directory above the victim's host path
    fs.writeFileSync(h.config, JSON.stringify({ shared_volumes: { victim: { host_path: h.inner, owner: 'container_root', mounts: { '102': '/data' } } } }));
    const warned = JSON.parse(
      (await runCli(['lxc', 'plan', '--json', '--config', h.config, '--node', node, '--pve-dir', h.pveDir, '--pct', STAND_IN_PCT], h.env)).stdout,
    );
    expect(warned.ok).toBe(true);
    expect(warned.volumes[0].warnings).toEqual([
      { field: 'shared_volumes.victim.host_path', problem: expect.stringMatching(new RegExp(`^CT 101 binds ${h.outer} \\(mp0\\)`)) },
    ]);
    expect(owners(h.base)).toEqual(before);
  });

  it('CT 101 swaps a directory above the host path for a symlink after the plan: the walk refuses, the host is untouched, CT 102 gets no mount', async () => {
    const h = host();
    const secretBefore = owners(h.secret);
    // The attack happens between the plan (readContainer, checkHostPath) and the walk: exactly where a
    // realpath check at plan time would not help.
    const activities = {
      ...h.activities,
      async applyOwnership(input: Parameters<typeof h.activities.applyOwnership>[0]) {
        fs.renameSync(path.join(h.outer, 'x'), path.join(h.outer, 'x.real'));
        fs.symlinkSync(h.secret, path.join(h.outer, 'x'));
        return h.activities.applyOwnership(input);
      },
    };
    const result = await apply({ victim: { host_path: h.inner, owner: 'container_root', mounts: { '102': '/data' } } }, activities);
    expect(result.ok).toBe(false);
    expect(result.volumes[0].error).toMatch(/symlink/);
    expect(owners(h.secret)).toEqual(secretBefore);
    expect(h.pctSets()).toEqual([]);
  });

  it('the host path replaced by another real directory after the plan: the walk refuses it (not the directory the plan saw)', async () => {
    const h = host();
    const activities = {
      ...h.activities,
      async applyOwnership(input: Parameters<typeof h.activities.applyOwnership>[0]) {
        fs.renameSync(h.inner, `${h.inner}.planned`);
        makeTree(h.inner, ['planted']);
        return h.activities.applyOwnership(input);
      },
    };
    const result = await apply({ victim: { host_path: h.inner, owner: 'container_root', mounts: { '102': '/data' } } }, activities);
    expect(result.ok).toBe(false);
    expect(result.volumes[0].error).toMatch(/not the directory the plan saw|changed since the plan/);
    expect(owner(path.join(h.inner, 'planted'))).toBe('0:0');
    expect(h.pctSets()).toEqual([]);
  });

  it('an immutable file is refused with its reason, the rest converges, the run ends and the root is left for the next run', async () => {
    const h = host();
    const stuck = path.join(h.inner, 'stuck.bin');
    fs.writeFileSync(stuck, 'x');
    execFileSync('chattr', ['+i', stuck]);
    try {
      const result = await apply({ victim: { host_path: h.inner, owner: 'container_root', mounts: { '102': '/data' } } }, h.activities);
      const ownership = result.volumes[0].result!.ownership;
      expect(ownership).toMatchObject({ refusedCount: 1, rootLeft: true });
      expect(ownership.refused).toEqual([{ path: stuck, reason: expect.stringMatching(/EPERM/) }]);
      expect(owner(path.join(h.inner, 'model.bin'))).toBe('100000:100000');
      expect(owner(stuck)).toBe('0:0');
      expect(owner(h.inner)).toBe('0:0');
      // the mount still goes ahead: the refusal is reported, not hidden, and the next run walks again
      expect(h.pctSets()).toHaveLength(1);
    } finally {
      execFileSync('chattr', ['-i', stuck]);
    }
  });
});
