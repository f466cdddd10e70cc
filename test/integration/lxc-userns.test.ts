import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import { gatherLxcFacts } from '../../src/host/proxmox/facts';
import { proxmoxNode } from '../../src/host/proxmox/node';
import { parseLxcConfig } from '../../src/domain/lxc/config';
import { parseContainerConfig } from '../../src/domain/lxc/containerConfig';
import { idMapOf } from '../../src/domain/lxc/idmap';
import { buildLxcPlan } from '../../src/domain/lxc/plan';
import { ensureSubordinateIds, makePveDir, owner, scratchDir, STAND_IN_PCT } from './lxc-support';

/**
 * The kernel's own view of an unprivileged container: a user namespace whose uid/gid map is the container's
 * lxc.idmap. "Container root cannot write, then can after apply" is the point of the whole backend.
 */
function asContainerRoot(confText: string, script: string, args: string[]) {
  const map = idMapOf(parseContainerConfig(confText, 'test.conf'));
  const mapArgs = [
    ...map.uid.map((r) => `--map-users=${r.hostStart},${r.containerStart},${r.count}`),
    ...map.gid.map((r) => `--map-groups=${r.hostStart},${r.containerStart},${r.count}`),
  ];
  // the script reaches its paths as "$1", "$2": values are never spliced into shell code
  return spawnSync('unshare', ['--user', ...mapArgs, '--setuid', '0', '--setgid', '0', '--', 'sh', '-c', script, 'sh', ...args], {
    encoding: 'utf8',
  });
}

describe('a container_root volume, proven with user namespaces', () => {
  beforeAll(() => ensureSubordinateIds());

  it('container root cannot write before apply, can after; a second container reads the file', async () => {
    const ct950 = 'arch: amd64\nunprivileged: 1\n'; // no lxc.idmap: Proxmox's default 0 100000 65536
    const ct951 = 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n';
    const pveDir = makePveDir({ 950: { conf: ct950, running: true }, 951: { conf: ct951 } });
    const hostPath = path.join(scratchDir('userns'), 'vllm_models');
    fs.mkdirSync(hostPath);
    fs.writeFileSync(path.join(hostPath, 'model.bin'), 'weights');
    fs.chownSync(hostPath, 65534, 65534); // what Phoenix left behind: nobody:nogroup
    fs.chmodSync(hostPath, 0o755);

    const written = path.join(hostPath, 'written-by-950');
    const before = asContainerRoot(ct950, 'echo hello > "$1"', [written]);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toMatch(/Permission denied/);
    expect(fs.existsSync(written)).toBe(false);

    const options = { pveDir, pct: STAND_IN_PCT, pctEnv: { SHAREMOUNT_PVE_DIR: pveDir }, runningDir: path.join(pveDir, 'running') };
    const activities = createLxcActivities(options);
    const config = parseLxcConfig(
      JSON.stringify({
        shared_volumes: { vllm_models: { host_path: hostPath, owner: 'container_root', mounts: { '950': '/vllm_models', '951': '/vllm_models' } } },
      }),
    );
    const plan = buildLxcPlan(config, await gatherLxcFacts(config, proxmoxNode(options)));
    expect(plan.ok).toBe(true);
    const volume = plan.volumes[0];
    expect(volume.owner).toEqual({ mode: 'container_root', uid: 100000, gid: 100000 });
    const result = await activities.applyOwnership({ volume: volume.name, root: volume.hostPath, uid: volume.owner!.uid, gid: volume.owner!.gid });
    expect(result).toMatchObject({ changed: 2, refusedCount: 0 });

    const after = asContainerRoot(ct950, 'echo hello > "$1" && id -u', [written]);
    expect(after.stderr).toBe('');
    expect(after.status).toBe(0);
    expect(after.stdout.trim()).toBe('0'); // it really was root inside the namespace
    expect(owner(written)).toBe('100000:100000'); // and the host sees the mapped root

    const read = asContainerRoot(ct951, 'cat "$1" "$2"', [written, path.join(hostPath, 'model.bin')]);
    expect(read.status).toBe(0);
    expect(read.stdout).toBe('hello\nweights');
    const append = asContainerRoot(ct951, 'echo more >> "$1"', [written]);
    expect(append.status).toBe(0);

    // converged: a second apply changes nothing
    await expect(activities.applyOwnership({ volume: volume.name, root: hostPath, uid: 100000, gid: 100000 })).resolves.toMatchObject({
      changed: 0,
      skippedByRootCheck: true,
    });
  });

  it('the default owner (nobody:nogroup) leaves the volume read-only to container root, as the plan says', async () => {
    const conf = 'unprivileged: 1\n';
    const pveDir = makePveDir({ 950: { conf } });
    const hostPath = path.join(scratchDir('userns-default'), 'data');
    fs.mkdirSync(hostPath);
    const options = { pveDir, pct: STAND_IN_PCT, pctEnv: { SHAREMOUNT_PVE_DIR: pveDir }, runningDir: path.join(pveDir, 'running') };
    const activities = createLxcActivities(options);
    const config = parseLxcConfig(JSON.stringify({ shared_volumes: { data: { host_path: hostPath, mounts: { '950': '/data' } } } }));
    const plan = buildLxcPlan(config, await gatherLxcFacts(config, proxmoxNode(options)));
    expect(plan.volumes[0].note).toMatch(/read but not write/);
    await activities.applyOwnership({ volume: 'data', root: hostPath, uid: plan.volumes[0].owner!.uid, gid: plan.volumes[0].owner!.gid });
    expect(owner(hostPath)).toBe('65534:65534');
    const write = asContainerRoot(conf, 'touch "$1"', [path.join(hostPath, 'x')]);
    expect(write.status).not.toBe(0);
  });
});
