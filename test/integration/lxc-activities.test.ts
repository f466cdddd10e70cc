import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import { gatherLxcFacts } from '../../src/host/proxmox/facts';
import { proxmoxNode } from '../../src/host/proxmox/node';
import type { WalkProgress } from '../../src/host/walk';
import { InputErrors } from '../../src/domain/errors';
import { parseLxcConfig } from '../../src/domain/lxc/config';
import { buildLxcPlan } from '../../src/domain/lxc/plan';
import { allPaths, makePveDir, makeTree, owner, pctCalls, scratchDir, STAND_IN_PCT } from './lxc-support';

/** The activities against real files, with the stand-in pct as the only stand-in. */
function setup(containers: Record<number, { conf: string; running?: boolean }>) {
  const pveDir = makePveDir(containers);
  const log = path.join(pveDir, 'pct.log');
  const options = { pveDir, pct: STAND_IN_PCT, pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: log }, runningDir: path.join(pveDir, 'running') };
  const activities = createLxcActivities(options);
  const node = proxmoxNode(options);
  const conf = (ctid: number) => fs.readFileSync(path.join(pveDir, 'lxc', `${ctid}.conf`), 'utf8');
  const setCalls = () => pctCalls(log).filter((argv) => argv[0] === 'set');
  return { pveDir, log, activities, node, conf, setCalls };
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }
  throw new Error('expected an ApplicationFailure');
}

describe('LXC activities with the stand-in pct', () => {
  const hostDir = scratchDir('hostpaths');
  const models = path.join(hostDir, 'models');
  const other = path.join(hostDir, 'other');
  fs.mkdirSync(models);
  fs.mkdirSync(other);

  it('readContainer returns the config and state; a missing container is final', async () => {
    const { activities, node, pveDir } = setup({ 950: { conf: 'unprivileged: 1\n', running: true } });
    await expect(activities.readContainer(950)).resolves.toMatchObject({ ctid: 950, text: 'unprivileged: 1\n', running: true });
    const missing = await failure(activities.readContainer(951));
    expect(missing.type).toBe('ContainerNotFound');
    expect(missing.nonRetryable).toBe(true);
    expect(node.readConf(951)).toEqual({ file: path.join(pveDir, 'lxc', '951.conf') });
  });

  it('bindMountPoint: new, then present without calling pct', async () => {
    const { activities, conf, setCalls } = setup({ 950: { conf: 'arch: amd64\nmp0: /srv/x,mp=/x\nunprivileged: 1\n' } });
    const first = await activities.bindMountPoint({ ctid: 950, slot: 1, hostPath: models, containerPath: '/models' });
    expect(first).toMatchObject({ changed: true, slot: 1, state: 'configured', running: false });
    expect(conf(950)).toContain(`mp1: ${models},mp=/models\n`);
    const digest = createHash('sha1').update('arch: amd64\nmp0: /srv/x,mp=/x\nunprivileged: 1\n').digest('hex');
    expect(setCalls()).toEqual([['set', '950', '-mp1', `${models},mp=/models`, '--digest', digest]]);
    const again = await activities.bindMountPoint({ ctid: 950, slot: 1, hostPath: models, containerPath: '/models' });
    expect(again).toMatchObject({ changed: false, slot: 1, state: 'present' });
    expect(setCalls()).toHaveLength(1);
  });

  it('bindMountPoint into a running container hot-plugs a new mount point', async () => {
    const { activities, conf } = setup({ 950: { conf: 'unprivileged: 1\n', running: true } });
    const result = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models' });
    expect(result).toMatchObject({ changed: true, state: 'hotplugged', running: true });
    expect(conf(950)).toBe(`unprivileged: 1\nmp0: ${models},mp=/models\n`);
  });

  it('bindMountPoint leaves drift alone without fixDrift, and changes it with it', async () => {
    const before = `mp0: ${other},mp=/models\nunprivileged: 1\n`;
    const { activities, conf, setCalls } = setup({ 950: { conf: before } });
    const left = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models' });
    expect(left).toMatchObject({ changed: false, state: 'driftLeft', currentHostPath: other });
    expect(conf(950)).toBe(before);
    expect(setCalls()).toHaveLength(0);
    const fixed = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models', fixDrift: true });
    expect(fixed).toMatchObject({ changed: true, slot: 0, state: 'configured' });
    expect(conf(950)).toBe(`mp0: ${models},mp=/models\nunprivileged: 1\n`);
  });

  it('a changed mount point of a running container is reported pending until restart, and nothing restarts it', async () => {
    const { activities, conf, setCalls, log } = setup({ 950: { conf: `mp0: ${other},mp=/models\nunprivileged: 1\n`, running: true } });
    const result = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models', fixDrift: true });
    expect(result).toMatchObject({ changed: true, state: 'pendingUntilRestart', running: true });
    expect(conf(950)).toMatch(new RegExp(`^mp0: ${other},mp=/models\\n[\\s\\S]*\\[pve:pending\\]\\nmp0: ${models},mp=/models\\n`));
    const again = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models', fixDrift: true });
    expect(again).toMatchObject({ changed: false, state: 'pendingUntilRestart' });
    expect(setCalls()).toHaveLength(1);
    expect(pctCalls(log).every((argv) => argv[0] === 'set')).toBe(true); // no stop, start or reboot
  });

  it('two volumes bound into one container at once take different slots (their plans both chose mp0)', async () => {
    const { activities, conf } = setup({ 950: { conf: 'unprivileged: 1\n' } });
    const results = await Promise.all([
      activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models' }),
      activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: other, containerPath: '/other' }),
    ]);
    expect(results.map((r) => r.slot).sort()).toEqual([0, 1]);
    expect(conf(950)).toContain(`mp${results[0].slot}: ${models},mp=/models\n`);
    expect(conf(950)).toContain(`mp${results[1].slot}: ${other},mp=/other\n`);
  });

  it('a config another process changed between read and pct set is refused by its digest, read again, and nothing is lost', async () => {
    const { activities, conf, pveDir, log, setCalls } = setup({ 950: { conf: 'unprivileged: 1\n' } });
    // A second worker process: its own activities, so no lock in common with the first.
    const elsewhere = createLxcActivities({
      pveDir,
      pct: STAND_IN_PCT,
      pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: log },
      runningDir: path.join(pveDir, 'running'),
    });
    const results = await Promise.all([
      activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models' }),
      elsewhere.bindMountPoint({ ctid: 950, slot: 0, hostPath: other, containerPath: '/other' }),
    ]);
    expect(results.map((r) => r.slot).sort()).toEqual([0, 1]);
    expect(conf(950)).toContain(`: ${models},mp=/models\n`);
    expect(conf(950)).toContain(`: ${other},mp=/other\n`);
    expect(setCalls().every((argv) => argv[4] === '--digest')).toBe(true);
    expect(setCalls().length).toBeGreaterThanOrEqual(2);
  });

  describe("pct's refusals, as pve-container words them", () => {
    it.each([
      ['protection: 1', 'protection: 1\nunprivileged: 1\n', 'ContainerProtected', "can't update CT 950 drive 'mp0' - protection mode enabled"],
      ['a lock: in the config', 'lock: backup\nunprivileged: 1\n', 'ContainerLocked', 'CT is locked (backup)'],
    ])('%s is final (non-retryable), with Proxmox message, and changes nothing', async (_, text, type, message) => {
      const { activities, conf } = setup({ 950: { conf: text } });
      const refused = await failure(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models' }));
      expect(refused).toMatchObject({ type, nonRetryable: true });
      expect(refused.message).toContain(message);
      expect(conf(950)).toBe(text);
    });

    it('a replicated container refuses a bind mount without replicate=0 (update_vm), final; bindMountPoint adds replicate=0', async () => {
      const { activities, conf, node, pveDir } = setup({ 950: { conf: 'unprivileged: 1\n' } });
      fs.writeFileSync(path.join(pveDir, 'replication.cfg'), 'local: 950-0\n\ttarget pve2\n\tschedule */15\n');
      const error = await node.runPct(['set', '950', '-mp0', `${models},mp=/models`]).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'replicationRefused', message: expect.stringContaining('cannot add non-replicatable volume to a replicated VM') });
      expect(conf(950)).toBe('unprivileged: 1\n');
      await expect(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models' })).resolves.toMatchObject({ changed: true, slot: 0 });
      expect(conf(950)).toBe(`unprivileged: 1\nmp0: ${models},mp=/models,replicate=0\n`);
    });

    it('a bind mount of a path on shared storage is marked shared=1, so migration and HA take it', async () => {
      const { activities, conf, pveDir } = setup({ 950: { conf: 'unprivileged: 1\n' } });
      fs.writeFileSync(path.join(pveDir, 'storage.cfg'), `dir: scratch\n\tpath ${hostDir}\n\tshared 1\n\tcontent rootdir\n`);
      await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models' });
      expect(conf(950)).toBe(`unprivileged: 1\nmp0: ${models},mp=/models,shared=1\n`);
    });

    it('a digest mismatch stays retryable: read again, plan again', async () => {
      const { node } = setup({ 950: { conf: 'unprivileged: 1\n' } });
      const error = await node.runPct(['set', '950', '-mp0', `${models},mp=/models`, '--digest', '0'.repeat(40)]).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'pctFailed', message: expect.stringMatching(/detected modified configuration/) });
    });

    it("another node's container does not exist for this node's pct (load_config reads nodes/<local>/lxc)", async () => {
      const pveDir = scratchDir('cluster');
      for (const [n, ctid] of [
        ['pve1', 950],
        ['pve2', 960],
      ] as const) {
        fs.mkdirSync(path.join(pveDir, 'nodes', n, 'lxc'), { recursive: true });
        fs.writeFileSync(path.join(pveDir, 'nodes', n, 'lxc', `${ctid}.conf`), 'unprivileged: 1\n');
      }
      const node = proxmoxNode({ pveDir, pct: STAND_IN_PCT, pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_NODE: 'pve1' } });
      const error = await node.runPct(['set', '960', '-mp0', `${models},mp=/models`]).catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'containerNotFound',
        message: expect.stringContaining("Configuration file 'nodes/pve1/lxc/960.conf' does not exist"),
      });
      await expect(node.runPct(['set', '950', '-mp0', `${models},mp=/models`])).resolves.toBe('');
      expect(fs.readFileSync(path.join(pveDir, 'nodes', 'pve1', 'lxc', '950.conf'), 'utf8')).toBe(`unprivileged: 1\nmp0: ${models},mp=/models\n`);
    });

    it('a failing pct status makes the running state unknown, with a warning in the plan, not a failed plan', async () => {
      const pveDir = makePveDir({ 950: { conf: 'unprivileged: 1\n' } });
      // No cgroup directory: the state comes from pct status, which fails here.
      const options = {
        pveDir,
        pct: STAND_IN_PCT,
        pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_STATUS_FAIL: "can't open pidfd" },
        runningDir: path.join(pveDir, 'no-cgroup'),
      };
      await expect(createLxcActivities(options).readContainer(950)).resolves.toMatchObject({
        running: null,
        statusProblem: expect.stringContaining("can't open pidfd"),
      });
      const config = parseLxcConfig(JSON.stringify({ shared_volumes: { m: { host_path: models, mounts: { '950': '/models' } } } }));
      const plan = buildLxcPlan(config, await gatherLxcFacts(config, proxmoxNode(options)));
      expect(plan.ok).toBe(true);
      expect(plan.containers[0]).toMatchObject({
        running: null,
        warnings: [{ problem: expect.stringMatching(/^running state unknown: pct status 950 failed: can't open pidfd/) }],
      });
    });
  });

  describe('what pct set does to the file (update_pct_config, vmconfig_hotplug_pending, vmconfig_apply_pending)', () => {
    it('a deletion of a running container waits as delete: in [pve:pending]; apply --fix-drift sets it again, which takes it off the queue', async () => {
      const { activities, node, conf } = setup({ 950: { conf: `mp0: ${models},mp=/models\nunprivileged: 1\n`, running: true } });
      await node.runPct(['set', '950', '--delete', 'mp0']);
      expect(conf(950)).toBe(`mp0: ${models},mp=/models\nunprivileged: 1\n\n[pve:pending]\ndelete: mp0\n`);
      const left = await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models' });
      expect(left).toMatchObject({ changed: false, state: 'driftLeft', found: 'pendingDelete', advice: expect.stringMatching(/queued for deletion/) });
      const kept = await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', fixDrift: true });
      expect(kept).toMatchObject({ changed: true, state: 'configured', found: 'pendingDelete', slot: 0 });
      expect(conf(950)).toBe(`mp0: ${models},mp=/models\nunprivileged: 1\n`);
    });

    it('a deletion of a stopped container happens at once', async () => {
      const { node, conf } = setup({ 950: { conf: `mp0: ${models},mp=/models\nunprivileged: 1\n` } });
      await node.runPct(['set', '950', '--delete', 'mp0']);
      expect(conf(950)).toBe('unprivileged: 1\n');
    });

    it('a read-only bind is left, and rewritten by --fix-drift without ro but with its other options', async () => {
      const before = `mp2: ${models},mp=/models,backup=0,ro=1\nunprivileged: 1\n`;
      const { activities, conf } = setup({ 950: { conf: before } });
      await expect(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models' })).resolves.toMatchObject({
        state: 'driftLeft',
        found: 'readOnly',
      });
      expect(conf(950)).toBe(before);
      await expect(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', fixDrift: true })).resolves.toMatchObject({
        changed: true,
        slot: 2,
      });
      expect(conf(950)).toBe(`mp2: ${models},mp=/models,backup=0\nunprivileged: 1\n`);
    });

    it("a bind whose ro, mountoptions or backup differ from the config's is drift, and --fix-drift rewrites only those", async () => {
      const before = `mp1: ${models},mp=/models,acl=1\nunprivileged: 1\n`;
      const { activities, conf } = setup({ 950: { conf: before } });
      const options = { ro: '1', mountoptions: 'nosuid;nodev', backup: '0' };
      const left = await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', options });
      expect(left).toMatchObject({ state: 'driftLeft', found: 'drift', advice: expect.stringContaining('no ro (config: ro=1)') });
      expect(conf(950)).toBe(before);
      await expect(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', options, fixDrift: true })).resolves.toMatchObject({
        changed: true,
        slot: 1,
      });
      expect(conf(950)).toBe(`mp1: ${models},mp=/models,acl=1,ro=1,mountoptions=nosuid;nodev,backup=0\nunprivileged: 1\n`);
      await expect(activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', options })).resolves.toMatchObject({
        state: 'present',
        changed: false,
      });
    });

    it('a storage volume at the path is never replaced, --fix-drift included', async () => {
      const before = 'mp0: local-zfs:subvol-950-disk-1,mp=/models,size=8G\nunprivileged: 1\n';
      const { activities, conf, setCalls } = setup({ 950: { conf: before } });
      const result = await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', fixDrift: true });
      expect(result).toMatchObject({ changed: false, state: 'conflictLeft', found: 'conflict', currentHostPath: 'local-zfs:subvol-950-disk-1' });
      expect(conf(950)).toBe(before);
      expect(setCalls()).toHaveLength(0);
    });

    it('the stand-in takes idmap= as pve-container 6.1.6 checks it: its pattern, then validate_id_maps', async () => {
      const { node, conf } = setup({ 950: { conf: 'unprivileged: 1\n' } });
      const refused = (value: string) => node.runPct(['set', '950', '-mp0', `${models},mp=/models,idmap=${value}`]).catch((e: unknown) => (e as Error).message);
      await expect(refused('u:0:100000:0')).resolves.toContain('idmap: value does not match the regex pattern');
      await expect(refused('u:0:5000:10;u:5:6000:1')).resolves.toContain(
        "invalid map entry 'u 5 6000 1': container uid 5 is also mapped by entry 'u 0 5000 10'",
      );
      expect(conf(950)).toBe('unprivileged: 1\n');
      await expect(node.runPct(['set', '950', '-mp0', `${models},mp=/models,idmap=u:0:100000:1;g:0:100000:1`])).resolves.toBe('');
    });

    it("a changed idmap= of a running container's mount waits in [pve:pending]; the container is not restarted", async () => {
      const before = `mp0: ${models},mp=/models,idmap=u:0:200000:1;g:0:200000:1\nunprivileged: 1\n`;
      const { activities, conf } = setup({ 950: { conf: before, running: true } });
      const idmap = 'u:0:100000:1;g:0:100000:1';
      const result = await activities.bindMountPoint({ ctid: 950, hostPath: models, containerPath: '/models', options: { idmap }, fixDrift: true });
      expect(result).toMatchObject({ changed: true, state: 'pendingUntilRestart', found: 'drift', running: true });
      expect(conf(950)).toBe(`${before}\n[pve:pending]\nmp0: ${models},mp=/models,idmap=${idmap}\n`);
    });

    it('the stand-in refuses a value Proxmox cannot parse, as the API parameter check does', async () => {
      const { node } = setup({ 950: { conf: 'unprivileged: 1\n' } });
      const error = await node.runPct(['set', '950', '-mp0', `${models},mp=/models,uid=1000`]).catch((e: unknown) => e);
      expect(error).toMatchObject({ message: expect.stringContaining('invalid key in comma-separated list property: uid') });
    });
  });

  it('an attempt whose start-to-close passed while it waited for the container changes nothing', async () => {
    const { activities, conf, setCalls } = setup({ 950: { conf: 'unprivileged: 1\n' } });
    const late = new MockActivityEnvironment({ startToCloseTimeoutMs: 30_000, currentAttemptScheduledTimestampMs: Date.now() - 31_000 });
    await expect(late.run(activities.bindMountPoint, { ctid: 950, slot: 0, hostPath: models, containerPath: '/models' })).rejects.toThrow(/timed out waiting/);
    expect(setCalls()).toHaveLength(0);
    expect(conf(950)).toBe('unprivileged: 1\n');
    const inTime = new MockActivityEnvironment({ startToCloseTimeoutMs: 30_000, currentAttemptScheduledTimestampMs: Date.now() });
    await expect(inTime.run(activities.bindMountPoint, { ctid: 950, slot: 0, hostPath: models, containerPath: '/models' })).resolves.toMatchObject({
      changed: true,
    });
  });

  it('a slot the plan chose that got taken since is not overwritten', async () => {
    const { activities, conf } = setup({ 950: { conf: `mp0: ${other},mp=/other\n` } });
    const result = await activities.bindMountPoint({ ctid: 950, slot: 0, hostPath: models, containerPath: '/models' });
    expect(result).toMatchObject({ changed: true, slot: 1 });
    expect(conf(950)).toContain(`mp0: ${other},mp=/other\n`);
  });

  it('refuses injected values before pct runs, and nothing runs them', async () => {
    const marker = path.join(scratchDir('inject'), 'pwned');
    const { activities, setCalls, log } = setup({ 950: { conf: 'unprivileged: 1\n' } });
    for (const hostPath of [`/srv/a; touch ${marker}`, `/srv/$(touch ${marker})`, `/srv/\`touch ${marker}\``, `/srv/a\ntouch ${marker}`, `${models},mp=/etc`]) {
      const error = await failure(activities.bindMountPoint({ ctid: 950, hostPath, containerPath: '/models' }));
      expect(error).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    }
    const configText = JSON.stringify({ shared_volumes: { v: { host_path: `/srv/a; touch ${marker}`, mounts: { '950': `/x$(touch ${marker})` } } } });
    expect(() => parseLxcConfig(configText)).toThrow(InputErrors);
    try {
      parseLxcConfig(configText);
    } catch (error) {
      expect((error as InputErrors).errors.map((e) => e.field)).toEqual(['shared_volumes.v.host_path', 'shared_volumes.v.mounts.950']);
    }
    expect(pctCalls(log)).toHaveLength(0);
    expect(setCalls()).toHaveLength(0);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('gathers facts for a plan without changing anything', async () => {
    const { node, setCalls } = setup({ 950: { conf: 'unprivileged: 1\n', running: true } });
    const config = parseLxcConfig(
      JSON.stringify({ shared_volumes: { m: { host_path: models, owner: 'root', mounts: { '950': '/models', '951': '/models' } } } }),
    );
    const plan = buildLxcPlan(config, await gatherLxcFacts(config, node, 'pve1'));
    expect(plan.volumes[0].owner).toMatchObject({ mode: 'user', uid: 0, gid: 0, user: 'root' });
    // The volume names two containers (951 is missing), so its mounts are nosuid;nodev.
    expect(plan.volumes[0].containers).toEqual([
      {
        ctid: 950,
        containerPath: '/models',
        rootUid: 100000,
        rootGid: 100000,
        idmap: 'proxmox-default',
        slot: 0,
        mount: 'new',
        running: true,
        options: { mountoptions: 'nosuid;nodev' },
      },
    ]);
    expect(plan.volumes[0].errors).toEqual([{ field: 'shared_volumes.m.mounts.951', problem: expect.stringMatching(/951 does not exist/) }]);
    expect(setCalls()).toHaveLength(0);
  });

  it('applyOwnership heartbeats a cursor and a retry resumes from it', async () => {
    const { activities } = setup({});
    const root = path.join(scratchDir('apply'), 'vol');
    makeTree(
      root,
      Array.from({ length: 3000 }, (_, i) => `d${i % 3}/f${String(i).padStart(4, '0')}`),
    );
    const first = new MockActivityEnvironment();
    const beats: WalkProgress[] = [];
    first.on('heartbeat', (details: WalkProgress) => {
      beats.push(details);
      if (beats.length === 2) first.cancel();
    });
    await expect(first.run(activities.applyOwnership, { volume: 'v', root, uid: 100000, gid: 100000 })).rejects.toThrow();
    const last = beats[beats.length - 1];
    expect(last.phase).toBe('walk');
    expect(last.cursor[0]).toBe('d1'); // two reports of 1000 entries: d0 is finished, d1 under way
    // d0 was finished before the stop: a retry that walked it again would change these back
    const insideFinished = allPaths(path.join(root, 'd0')).slice(1);
    for (const p of insideFinished) fs.lchownSync(p, 0, 0);
    // an entry of d1 behind the cursor that changed after the stop is looked at again (the cursor's level is re-checked)
    const behindCursor = path.join(root, 'd1', 'f0001');
    fs.lchownSync(behindCursor, 0, 0);
    const retry = new MockActivityEnvironment({ heartbeatDetails: last, attempt: 2 });
    const result = await retry.run(activities.applyOwnership, { volume: 'v', root, uid: 100000, gid: 100000 });
    // counts continue from the heartbeat: every entry once, plus the one behind the cursor, looked at again
    expect(result).toMatchObject({ entries: 3005, skippedByRootCheck: false, rootLeft: false });
    expect(insideFinished.map(owner)).toEqual(insideFinished.map(() => '0:0'));
    expect(owner(behindCursor)).toBe('100000:100000');
    expect(owner(root)).toBe('100000:100000');
    const missing = await failure(activities.applyOwnership({ volume: 'v', root: path.join(root, 'nope'), uid: 1, gid: 1 }));
    expect(missing).toMatchObject({ type: 'VolumeNotFound', nonRetryable: true });
  });
});
