import * as fs from 'node:fs';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { lxcApplyWorkflowId } from '../../src/domain/workflowIds';
import type { LxcPlan } from '../../src/domain/lxc/plan';
import { runCli } from '../support/cliProcess';
import { withWorker } from '../support/temporal';
import { allPaths, makePveDir, makeTree, owner, pctCalls, scratchDir, STAND_IN_PCT } from './lxc-support';

/**
 * `sharemount lxc plan|apply` as an operator runs them: the CLI validates and plans on this host, starts the
 * workflow on the suite's Temporal server, and a worker serving `lxc:<node>` (the real activities, the
 * stand-in pct) changes real files and container configs.
 */
describe('sharemount lxc, CLI → Temporal → worker on the node', () => {
  const node = `cli${process.pid}`;
  const pveDir = makePveDir({
    950: { conf: 'arch: amd64\nunprivileged: 1\nmp0: /srv/other,mp=/data\n', running: true },
    951: { conf: 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n' },
  });
  const pctLog = path.join(pveDir, 'pct.log');
  const base = scratchDir('cli-lxc');
  const volume = path.join(base, 'models');
  const config = path.join(base, 'phoenix_hypervisor_config.json');
  const flags = ['--config', config, '--node', node, '--pve-dir', pveDir, '--pct', STAND_IN_PCT];
  const env = { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: pctLog };

  const writeConfig = (volumes: object) => fs.writeFileSync(config, JSON.stringify({ version: '1', firewall_rules: [], shared_volumes: volumes }));
  const activities = (pveContainerVersion?: string) =>
    createActivities({
      ...(pveContainerVersion === undefined ? {} : { pveContainerVersion }),
      pveDir,
      pct: STAND_IN_PCT,
      pctEnv: env,
      runningDir: path.join(pveDir, 'running'),
      awsIdentity: async () => ({}),
      efs: {} as never,
      ec2: {} as never,
      ssm: {} as never,
    });
  const cli = (args: string[]) => withWorker({ taskQueue: lxcTaskQueue(node), activities: activities() }, () => runCli(args, env));
  const pctSets = () => pctCalls(pctLog).filter((call) => call[0] === 'set');

  beforeAll(() => {
    makeTree(volume, ['a.bin', 'llama/', 'llama/shard-1', 'llama/shard-2', 'deep/er/file']);
    for (const p of allPaths(volume)) fs.lchownSync(p, 65534, 65534);
    writeConfig({ models: { host_path: volume, owner: 'container_root', mounts: { '950': '/models', '951': '/models' } } });
  });
  afterAll(() => [pveDir, base].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('plan --json prints the documented shape and changes nothing', async () => {
    const result = await runCli(['lxc', 'plan', ...flags, '--json'], env);
    expect(result.code).toBe(0);
    const plan: LxcPlan = JSON.parse(result.stdout);
    expect(plan).toEqual({
      node,
      ok: true,
      // this checkout's build made the prebuilt helpers, so the plan names the one for this machine
      walkEngine: {
        engine: 'native',
        source: 'prebuilt',
        helper: path.resolve(__dirname, `../../prebuilt/linux-${process.arch}/sharemount-walk`),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      volumes: [
        {
          name: 'models',
          hostPath: volume,
          owner: { mode: 'container_root', uid: 100000, gid: 100000 },
          // no pve-container on a test machine: dpkg-query cannot say, so auto means chown
          strategy: { name: 'chown', requested: 'auto', reason: expect.stringMatching(/^auto: chown, because the pve-container version is unknown/) },
          root: { dev: fs.statSync(volume).dev, ino: fs.statSync(volume).ino },
          // two containers share it: nosuid;nodev
          containers: [
            {
              ctid: 950,
              containerPath: '/models',
              rootUid: 100000,
              rootGid: 100000,
              idmap: 'proxmox-default',
              slot: 1,
              mount: 'new',
              running: true,
              options: { mountoptions: 'nosuid;nodev' },
            },
            {
              ctid: 951,
              containerPath: '/models',
              rootUid: 100000,
              rootGid: 100000,
              idmap: 'lxc.idmap',
              slot: 0,
              mount: 'new',
              running: false,
              options: { mountoptions: 'nosuid;nodev' },
            },
          ],
        },
      ],
      containers: [
        {
          ctid: 950,
          file: path.join(pveDir, 'lxc', '950.conf'),
          running: true,
          unprivileged: true,
          protection: false,
          mountPoints: [
            {
              key: 'mp0',
              line: expect.any(Number),
              section: 'main',
              parseable: true,
              type: 'bind',
              volume: '/srv/other',
              containerPath: '/data',
              ro: false,
              pendingDelete: false,
            },
          ],
        },
        { ctid: 951, file: path.join(pveDir, 'lxc', '951.conf'), running: false, unprivileged: true, protection: false, mountPoints: [] },
      ],
    });
    expect(owner(volume)).toBe('65534:65534');
    expect(pctSets()).toEqual([]);
  });

  it('apply converges: every entry owned by container root, one new mpN per container, exit 0', async () => {
    const result = await cli(['lxc', 'apply', ...flags, '--json']);
    expect(result.code).toBe(0);
    const { result: run, progress } = JSON.parse(result.stdout);
    expect(run.ok).toBe(true);
    expect(run.volumes[0].result.rows).toBeUndefined();
    // The volume child's final rows reach the parent's board through its result.
    expect(progress.targets.map((t: { target: string; state: string; changes: string[] }) => [t.target, t.state, t.changes])).toEqual([
      ['models: ownership', 'ok', [`${allPaths(volume).length} entries now 100000:100000`]],
      ['models: CT 950', 'ok', ['bound mp1 → /models (hot-plugged)']],
      ['models: CT 951', 'ok', ['bound mp0 → /models']],
    ]);
    expect(run.volumes[0].result.ownership.changed).toBe(allPaths(volume).length);
    expect(allPaths(volume).map(owner)).toEqual(allPaths(volume).map(() => '100000:100000'));
    expect(fs.readFileSync(path.join(pveDir, 'lxc', '950.conf'), 'utf8')).toMatch(
      new RegExp(`^mp0: /srv/other,mp=/data\nmp1: ${volume},mp=/models,mountoptions=nosuid;nodev$`, 'm'),
    );
    expect(fs.readFileSync(path.join(pveDir, 'lxc', '951.conf'), 'utf8')).toMatch(new RegExp(`^mp0: ${volume},mp=/models,mountoptions=nosuid;nodev$`, 'm'));
    expect(pctSets()).toHaveLength(2);
  });

  it('a second apply on the converged host changes 0 files and calls pct set 0 times', async () => {
    const confs = ['950', '951'].map((ct) => fs.readFileSync(path.join(pveDir, 'lxc', `${ct}.conf`), 'utf8'));
    const result = await cli(['lxc', 'apply', ...flags, '--json']);
    expect(result.code).toBe(0);
    const run = JSON.parse(result.stdout).result;
    expect(run.volumes[0].result.changes).toBe(0);
    expect(pctSets()).toHaveLength(2);
    expect(['950', '951'].map((ct) => fs.readFileSync(path.join(pveDir, 'lxc', `${ct}.conf`), 'utf8'))).toEqual(confs);
  });

  it('drift is shown by plan, left by apply (exit 1, with the fix named), fixed by --fix-drift', async () => {
    const moved = path.join(base, 'models_old');
    fs.mkdirSync(moved);
    const conf951 = path.join(pveDir, 'lxc', '951.conf');
    fs.writeFileSync(conf951, fs.readFileSync(conf951, 'utf8').replace(`mp0: ${volume},mp=/models,`, `mp0: ${moved},mp=/models,`));
    const plan: LxcPlan = JSON.parse((await runCli(['lxc', 'plan', ...flags, '--json'], env)).stdout);
    expect(plan.volumes[0].containers[1]).toMatchObject({ ctid: 951, mount: 'drift', slot: 0, currentHostPath: moved });

    const left = await cli(['lxc', 'apply', ...flags]);
    expect(left.code).toBe(1);
    expect(left.stdout + left.stderr).toMatch(/--fix-drift/);
    expect(fs.readFileSync(conf951, 'utf8')).toContain(`mp0: ${moved},mp=/models`);

    const fixed = await cli(['lxc', 'apply', ...flags, '--fix-drift']);
    expect(fixed.code).toBe(0);
    expect(fs.readFileSync(conf951, 'utf8')).toMatch(new RegExp(`^mp0: ${volume},mp=/models,mountoptions=nosuid;nodev$`, 'm'));
  });

  it('containers whose roots map differently are refused before anything changes (exit 2), naming both', async () => {
    fs.writeFileSync(path.join(pveDir, 'lxc', '952.conf'), 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n');
    const other = path.join(base, 'other');
    makeTree(other, ['x']);
    writeConfig({ other: { host_path: other, owner: 'container_root', mounts: { '950': '/other', '952': '/other' } } });
    const before = allPaths(other).map(owner);
    const sets = pctSets().length;
    const result = await cli(['lxc', 'apply', ...flags]);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(/CT 950 root is 100000:100000.*CT 952 root is 200000:200000/s);
    expect(allPaths(other).map(owner)).toEqual(before);
    expect(pctSets()).toHaveLength(sets);
  });

  it('--strategy idmap --pve-container-version 6.1.6: containers with different maps share a tree already the disk owner’s, and nothing is chowned', async () => {
    fs.writeFileSync(path.join(pveDir, 'lxc', '953.conf'), 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 300000 65536\nlxc.idmap: g 0 300000 65536\n');
    const shared = path.join(base, 'shared-idmap');
    makeTree(shared, ['m.bin', 'd/', 'd/x']);
    for (const p of allPaths(shared)) fs.lchownSync(p, 100000, 100000);
    writeConfig({ shared: { host_path: shared, owner: 'container_root', mounts: { '950': '/shared', '953': '/shared' } } });
    const idmapFlags = [...flags, '--strategy', 'idmap', '--pve-container-version', '6.1.6'];
    const plan: LxcPlan = JSON.parse((await runCli(['lxc', 'plan', ...idmapFlags, '--json'], env)).stdout);
    expect(plan.volumes[0]).toMatchObject({ strategy: { name: 'idmap', requested: 'idmap' }, owner: { uid: 100000, gid: 100000 } });
    expect(plan.volumes[0].containers.map((c) => c.options?.idmap)).toEqual(['u:0:100000:1;g:0:100000:1', 'u:0:100000:1;g:0:100000:1']);

    const sets = pctSets().length;
    const result = await withWorker({ taskQueue: lxcTaskQueue(node), activities: activities('6.1.6') }, () =>
      runCli(['lxc', 'apply', ...idmapFlags, '--json'], env),
    );
    expect(result.code).toBe(0);
    const applied = JSON.parse(result.stdout).result.volumes[0].result;
    expect(applied).toMatchObject({ strategy: { name: 'idmap' }, ownership: { changed: 0, skippedByRootCheck: true } });
    expect(allPaths(shared).map(owner)).toEqual(allPaths(shared).map(() => '100000:100000'));
    expect(pctSets().length - sets).toBe(2);
    expect(fs.readFileSync(path.join(pveDir, 'lxc', '953.conf'), 'utf8')).toMatch(
      new RegExp(`^mp0: ${shared},mp=/shared,mountoptions=nosuid;nodev,idmap=u:0:100000:1;g:0:100000:1$`, 'm'),
    );
  });

  it('a --pve-container-version that is not a package version is bad input (exit 2), naming the option', async () => {
    const result = await runCli(['lxc', 'plan', ...flags, '--pve-container-version', '6.1.6;reboot'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--pve-container-version: "6\.1\.6;reboot" must be a Debian package version/);
  });

  it('a run with a failed target exits 1, and so do status and watch of it later, with no worker left to ask', async () => {
    // A hard link to a file outside the volume is refused by the walk: the volume's ownership row fails,
    // while the containers' rows and the volume's own result are fine.
    const linked = path.join(base, 'linked');
    makeTree(linked, ['a', 'b']);
    const outside = path.join(base, 'outside-file');
    fs.writeFileSync(outside, 'host data');
    fs.linkSync(outside, path.join(linked, 'hard'));
    writeConfig({ linked: { host_path: linked, owner: 'container_root', mounts: { '950': '/linked' } } });
    const applied = await cli(['lxc', 'apply', ...flags, '--volume', 'linked']);
    expect(applied.stdout).toMatch(/^1 ok, 1 failed$/m);
    expect(applied.stdout).toMatch(/refused 1 entries/);
    expect(applied.code).toBe(1);
    expect(owner(outside)).toBe('0:0');
    // Run again over every entry: nothing left to change, the same entry refused; that is not "converged".
    const again = await cli(['lxc', 'apply', ...flags, '--volume', 'linked', '--full-scan']);
    expect(again.stdout).toMatch(/^1 ok, 1 failed$/m);
    expect(again.stdout).not.toMatch(/converged/);
    expect(again.code).toBe(1);

    const workflowId = lxcApplyWorkflowId(node, 'linked');
    const status = await runCli(['status', workflowId, '--json'], env);
    expect(JSON.parse(status.stdout).status).toBe('COMPLETED');
    expect(status.code).toBe(1);
    const watched = await runCli(['watch', workflowId, '--json'], env);
    expect(JSON.parse(watched.stdout).kind).toBe('completed');
    expect(watched.code).toBe(1);
  });
});
