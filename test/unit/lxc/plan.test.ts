import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { buildLxcPlan, type ContainerFacts, type LxcFacts, type LxcPlan } from '../../../src/domain/lxc/plan';

const CONFIG = parseLxcConfig(
  JSON.stringify({
    nodes: [],
    shared_volumes: {
      vllm_models: { host_path: '/mnt/pve/fastData/vllm_models', owner: 'container_root', mounts: { '950': '/vllm_models', '951': '/vllm_models' } },
      datasets: { host_path: '/srv/datasets', mounts: { '950': '/datasets' } },
      home: { host_path: '/srv/home', owner: 'alice', mounts: { '952': '/home/shared' } },
    },
  }),
);

function ct(ctid: number, text: string | undefined, running = false): ContainerFacts {
  return { ctid, file: `/etc/pve/lxc/${ctid}.conf`, text, running };
}

/** The plan with each container's `existing` mount point left out (its shape is tested below). */
function withoutExisting(plan: LxcPlan) {
  return { ...plan, volumes: plan.volumes.map((v) => ({ ...v, containers: v.containers.map(({ existing, ...c }) => c) })) };
}

function facts(containers: ContainerFacts[]): LxcFacts {
  return { node: 'pve1', containers, hostUsers: { alice: { name: 'alice', uid: 1000, gid: 1000, group: 'alice' } } };
}

describe('buildLxcPlan', () => {
  it('plans owners, mapped roots and slots for every volume and container', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        ct(950, 'unprivileged: 1\nmp0: /srv/other,mp=/other\n', true),
        ct(951, 'unprivileged: 1\nmp0: /mnt/pve/fastData/vllm_models,mp=/vllm_models,mountoptions=nodev;nosuid\n'),
        ct(952, 'unprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\nmp0: /srv/home_old,mp=/home/shared\n'),
      ]),
    );
    expect(withoutExisting(plan)).toEqual({
      node: 'pve1',
      containers: expect.any(Array),
      ok: true,
      volumes: [
        {
          name: 'datasets',
          hostPath: '/srv/datasets',
          owner: { mode: 'default', uid: 65534, gid: 65534, user: 'nobody', group: 'nogroup' },
          strategy: { name: 'chown', requested: 'auto', reason: expect.stringMatching(/^auto: chown, because the owner is the default nobody:nogroup/) },
          note: expect.stringMatching(/container root can read but not write/),
          containers: [
            { ctid: 950, containerPath: '/datasets', rootUid: 100000, rootGid: 100000, idmap: 'proxmox-default', mount: 'new', slot: 1, running: true },
          ],
        },
        {
          name: 'home',
          hostPath: '/srv/home',
          owner: { mode: 'user', uid: 1000, gid: 1000, user: 'alice', group: 'alice' },
          strategy: { name: 'chown', requested: 'auto', reason: expect.stringMatching(/the owner is a host user/) },
          note: expect.stringMatching(/CT 952 root \(100000:100000\) is not the owner 1000:1000/),
          containers: [
            {
              ctid: 952,
              containerPath: '/home/shared',
              rootUid: 100000,
              rootGid: 100000,
              idmap: 'lxc.idmap',
              mount: 'drift',
              slot: 0,
              currentHostPath: '/srv/home_old',
              running: false,
            },
          ],
        },
        {
          name: 'vllm_models',
          hostPath: '/mnt/pve/fastData/vllm_models',
          owner: { mode: 'container_root', uid: 100000, gid: 100000 },
          strategy: { name: 'chown', requested: 'auto', reason: expect.stringMatching(/the pve-container version is unknown/) },
          containers: [
            // slot 1 went to datasets in this same plan, so the next volume on CT 950 gets slot 2; two containers
            // share the volume, so both mounts are nosuid;nodev (951's lists them in another order: the same set)
            {
              ctid: 950,
              containerPath: '/vllm_models',
              rootUid: 100000,
              rootGid: 100000,
              idmap: 'proxmox-default',
              mount: 'new',
              slot: 2,
              running: true,
              options: { mountoptions: 'nosuid;nodev' },
            },
            {
              ctid: 951,
              containerPath: '/vllm_models',
              rootUid: 100000,
              rootGid: 100000,
              idmap: 'proxmox-default',
              mount: 'present',
              slot: 0,
              running: false,
              options: { mountoptions: 'nosuid;nodev' },
            },
          ],
        },
      ],
    });
  });

  it('refuses container_root when the roots differ, and reports missing or broken containers per field', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([ct(950, 'unprivileged: 1\n'), ct(951, 'unprivileged: 1\nlxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n'), ct(952, undefined)]),
    );
    expect(plan.ok).toBe(false);
    const byName = Object.fromEntries(plan.volumes.map((v) => [v.name, v]));
    expect(byName.vllm_models.owner).toBeNull();
    expect(byName.vllm_models.errors).toEqual([
      {
        field: 'shared_volumes.vllm_models.owner',
        problem: expect.stringMatching(/CT 950 root is 100000:100000, CT 951 root is 200000:200000.*"strategy": "idmap"/),
      },
    ]);
    expect(byName.home.errors).toEqual([{ field: 'shared_volumes.home.mounts.952', problem: expect.stringMatching(/952 does not exist/) }]);
    expect(byName.datasets.errors).toBeUndefined();
  });

  it('reports an unmapped root for container_root and a malformed config with its file and line', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([ct(950, 'lxc.idmap: u 0 100000 65536\n'), ct(951, 'unprivileged: 1\nlxc.idmap: u 0\n'), ct(952, 'unprivileged: 1\n')]),
    );
    const models = plan.volumes.find((v) => v.name === 'vllm_models')!;
    expect(models.errors).toEqual([
      { field: 'shared_volumes.vllm_models.mounts.950', problem: expect.stringMatching(/gid 0 is outside every lxc.idmap range/) },
      { field: 'shared_volumes.vllm_models.mounts.951', problem: expect.stringMatching(/^\/etc\/pve\/lxc\/951.conf: line 2: failed to parse idmap: u 0/) },
    ]);
    // a volume that does not need container root still plans for the same container, with a null root
    const datasets = plan.volumes.find((v) => v.name === 'datasets')!;
    expect(datasets.errors).toBeUndefined();
    expect(datasets.containers[0]).toMatchObject({ ctid: 950, rootUid: null, rootGid: null });
  });

  it('is deterministic: the same facts give the same JSON', () => {
    const f = facts([ct(950, 'unprivileged: 1\n'), ct(951, 'unprivileged: 1\n'), ct(952, 'unprivileged: 1\n')]);
    expect(JSON.stringify(buildLxcPlan(CONFIG, f))).toBe(JSON.stringify(buildLxcPlan(CONFIG, { ...f, containers: [...f.containers].reverse() })));
  });

  it('classifies every mount point of each container once, with the warnings of its file by line', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        ct(
          950,
          'unprivileged: 1\nmp0: local-zfs:subvol-950-disk-1,mp=/data,size=8G\nmp1: /srv/x,mp=/x,ro=1,idmap=passthrough\nmp2: /srv/y,uid=1000,mp=/y\nstray line\n[pve:pending]\nmp3: /dev/sdb1,mp=/disk\ndelete: mp1\n',
        ),
        ct(951, 'unprivileged: 1\n'),
        ct(952, 'unprivileged: 1\n'),
      ]),
    );
    expect(plan.containers.map((c) => c.ctid)).toEqual([950, 951, 952]);
    expect(plan.containers[0]).toEqual({
      ctid: 950,
      file: '/etc/pve/lxc/950.conf',
      running: false,
      unprivileged: true,
      protection: false,
      mountPoints: [
        {
          key: 'mp0',
          line: 2,
          section: 'main',
          parseable: true,
          type: 'volume',
          volume: 'local-zfs:subvol-950-disk-1',
          containerPath: '/data',
          ro: false,
          pendingDelete: false,
        },
        {
          key: 'mp1',
          line: 3,
          section: 'main',
          parseable: true,
          type: 'bind',
          volume: '/srv/x',
          containerPath: '/x',
          ro: true,
          idmap: 'passthrough',
          pendingDelete: true,
        },
        {
          key: 'mp2',
          line: 4,
          section: 'main',
          parseable: false,
          problem: expect.stringMatching(/invalid key .*: uid/),
          volume: '/srv/y',
          containerPath: '/y',
          pendingDelete: false,
        },
        {
          key: 'mp3',
          line: 7,
          section: 'pending',
          parseable: true,
          type: 'device',
          volume: '/dev/sdb1',
          containerPath: '/disk',
          ro: false,
          pendingDelete: false,
        },
      ],
      warnings: [
        { file: '/etc/pve/lxc/950.conf', line: 4, problem: expect.stringMatching(/unable to parse value of 'mp2'/) },
        { file: '/etc/pve/lxc/950.conf', line: 5, problem: 'unable to parse config: stray line' },
      ],
    });
    // slots 0..3 are all held, the unparseable mp2 included
    expect(plan.volumes.find((v) => v.name === 'datasets')!.containers[0]).toMatchObject({ mount: 'new', slot: 4 });
  });

  it('a storage volume at the container path is a conflict, an error naming it; never drift', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([ct(950, 'unprivileged: 1\nmp0: local-lvm:vm-950-disk-1,mp=/datasets\n'), ct(951, 'unprivileged: 1\n'), ct(952, 'unprivileged: 1\n')]),
    );
    const datasets = plan.volumes.find((v) => v.name === 'datasets')!;
    expect(plan.ok).toBe(false);
    expect(datasets.containers[0]).toMatchObject({
      mount: 'conflict',
      slot: 0,
      currentHostPath: 'local-lvm:vm-950-disk-1',
      existing: { key: 'mp0', type: 'volume' },
    });
    expect(datasets.errors).toEqual([{ field: 'shared_volumes.datasets.mounts.950', problem: expect.stringMatching(/storage volume.*never replaces it/) }]);
  });

  it.each([
    ['idmap=passthrough', 0, 0, 'passthrough'],
    ['idmap=u:0:5000:1;g:0:5000:1', 5000, 5000, 'mount-idmap'],
  ])(
    'container_root through an existing mount with %s owns the volume as the disk ids root writes as (resolve_mountpoint_idmap)',
    (option, uid, gid, through) => {
      const text = `unprivileged: 1\nmp0: /mnt/pve/fastData/vllm_models,mp=/vllm_models,${option},mountoptions=nosuid;nodev\n`;
      const plan = buildLxcPlan(CONFIG, facts([ct(950, text), ct(951, text), ct(952, 'unprivileged: 1\n')]));
      const models = plan.volumes.find((v) => v.name === 'vllm_models')!;
      expect(models.owner).toEqual({ mode: 'container_root', uid, gid });
      expect(models.containers.map((c) => [c.mount, c.rootUid, c.writesAs])).toEqual([
        ['present', 100000, { uid, gid, through }],
        ['present', 100000, { uid, gid, through }],
      ]);
    },
  );

  it('one container through a mount idmap and one without cannot share one owner, and the plan says why', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        ct(950, 'unprivileged: 1\nmp0: /mnt/pve/fastData/vllm_models,mp=/vllm_models,idmap=passthrough\n'),
        ct(951, 'unprivileged: 1\n'),
        ct(952, 'unprivileged: 1\n'),
      ]),
    );
    expect(plan.volumes.find((v) => v.name === 'vllm_models')!.errors).toEqual([
      { field: 'shared_volumes.vllm_models.owner', problem: expect.stringMatching(/CT 950 root is 0:0, CT 951 root is 100000:100000/) },
    ]);
  });

  it('read-only, pending-delete, unparseable and pending binds are states of their own, not present', () => {
    const one = (text: string) =>
      buildLxcPlan(CONFIG, facts([ct(950, `unprivileged: 1\n${text}`), ct(951, 'unprivileged: 1\n'), ct(952, 'unprivileged: 1\n')])).volumes.find(
        (v) => v.name === 'datasets',
      )!.containers[0];
    expect(one('mp0: /srv/datasets,mp=/datasets,ro=1\n')).toMatchObject({ mount: 'readOnly', slot: 0 });
    expect(one('mp0: /srv/datasets,mp=/datasets\n[pve:pending]\ndelete: mp0\n')).toMatchObject({ mount: 'pendingDelete', slot: 0 });
    expect(one('mp0: /srv/datasets,mp=/datasets,uid=1000\n')).toMatchObject({ mount: 'ignored', slot: 0, existing: { parseable: false } });
    expect(one('mp0 = /srv/datasets,mp=/datasets\n')).toMatchObject({ mount: 'new', slot: 0 });
    expect(one('[pve:pending]\nmp0: /srv/datasets,mp=/datasets\n')).toMatchObject({ mount: 'pending', slot: 0, pendingUntilRestart: true });
  });

  it('protection or a lock, where a mount must be added, is an error: pct would refuse', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([ct(950, 'unprivileged: 1\nprotection: 1\n'), ct(951, 'unprivileged: 1\nlock: backup\n'), ct(952, 'unprivileged: 1\n')]),
    );
    const models = plan.volumes.find((v) => v.name === 'vllm_models')!;
    expect(models.errors).toEqual([
      { field: 'shared_volumes.vllm_models.mounts.950', problem: expect.stringMatching(/protection: 1 is set, and pct set refuses/) },
      { field: 'shared_volumes.vllm_models.mounts.951', problem: expect.stringMatching(/locked \(lock: backup\)/) },
    ]);
  });

  it('an unknown running state (pct status failed) is null with a warning, not a failed plan', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        { ...ct(950, 'unprivileged: 1\n'), running: null, statusProblem: 'pct status 950 failed: boom' },
        ct(951, 'unprivileged: 1\n'),
        ct(952, 'unprivileged: 1\n'),
      ]),
    );
    expect(plan.ok).toBe(true);
    expect(plan.containers[0]).toMatchObject({
      running: null,
      warnings: [{ file: '/etc/pve/lxc/950.conf', problem: 'running state unknown: pct status 950 failed: boom' }],
    });
  });
});
