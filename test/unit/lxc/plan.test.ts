import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { buildLxcPlan, type ContainerFacts, type LxcFacts } from '../../../src/domain/lxc/plan';

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

function facts(containers: ContainerFacts[]): LxcFacts {
  return { node: 'pve1', containers, hostUsers: { alice: { name: 'alice', uid: 1000, gid: 1000, group: 'alice' } } };
}

describe('buildLxcPlan', () => {
  it('plans owners, mapped roots and slots for every volume and container', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        ct(950, 'unprivileged: 1\nmp0: /srv/other,mp=/other\n', true),
        ct(951, 'unprivileged: 1\nmp0: /mnt/pve/fastData/vllm_models,mp=/vllm_models\n'),
        ct(952, 'unprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\nmp0: /srv/home_old,mp=/home/shared\n'),
      ]),
    );
    expect(plan).toEqual({
      node: 'pve1',
      ok: true,
      volumes: [
        {
          name: 'datasets',
          hostPath: '/srv/datasets',
          owner: { mode: 'default', uid: 65534, gid: 65534, user: 'nobody', group: 'nogroup' },
          note: expect.stringMatching(/container root can read but not write/),
          containers: [{ ctid: 950, containerPath: '/datasets', rootUid: 100000, rootGid: 100000, idmap: 'proxmox-default', mount: 'new', slot: 1, running: true }],
        },
        {
          name: 'home',
          hostPath: '/srv/home',
          owner: { mode: 'user', uid: 1000, gid: 1000, user: 'alice', group: 'alice' },
          note: expect.stringMatching(/CT 952 root \(100000:100000\) is not the owner 1000:1000/),
          containers: [
            { ctid: 952, containerPath: '/home/shared', rootUid: 100000, rootGid: 100000, idmap: 'lxc.idmap', mount: 'drift', slot: 0, currentHostPath: '/srv/home_old', running: false },
          ],
        },
        {
          name: 'vllm_models',
          hostPath: '/mnt/pve/fastData/vllm_models',
          owner: { mode: 'container_root', uid: 100000, gid: 100000 },
          containers: [
            // slot 1 went to datasets in this same plan, so the next volume on CT 950 gets slot 2
            { ctid: 950, containerPath: '/vllm_models', rootUid: 100000, rootGid: 100000, idmap: 'proxmox-default', mount: 'new', slot: 2, running: true },
            { ctid: 951, containerPath: '/vllm_models', rootUid: 100000, rootGid: 100000, idmap: 'proxmox-default', mount: 'present', slot: 0, running: false },
          ],
        },
      ],
    });
  });

  it('refuses container_root when the roots differ, and reports missing or broken containers per field', () => {
    const plan = buildLxcPlan(
      CONFIG,
      facts([
        ct(950, 'unprivileged: 1\n'),
        ct(951, 'unprivileged: 1\nlxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n'),
        ct(952, undefined),
      ]),
    );
    expect(plan.ok).toBe(false);
    const byName = Object.fromEntries(plan.volumes.map((v) => [v.name, v]));
    expect(byName.vllm_models.owner).toBeNull();
    expect(byName.vllm_models.errors).toEqual([
      { field: 'shared_volumes.vllm_models.owner', problem: expect.stringMatching(/CT 950 root is 100000:100000, CT 951 root is 200000:200000/) },
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
      { field: 'shared_volumes.vllm_models.mounts.951', problem: expect.stringMatching(/^\/etc\/pve\/lxc\/951.conf:2: /) },
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
});
