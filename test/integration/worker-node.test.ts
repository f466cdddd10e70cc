import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import { defaultActivityDeps } from '../../src/worker';
import { scratchDir, STAND_IN_PCT } from './lxc-support';

describe('the worker names its node', () => {
  it('a worker started with --node pve2 treats pve2 as this node: its containers get a running state from pct', async () => {
    const pveDir = scratchDir('worker-node');
    fs.mkdirSync(path.join(pveDir, 'nodes', 'pve2', 'lxc'), { recursive: true });
    fs.writeFileSync(path.join(pveDir, 'nodes', 'pve2', 'lxc', '960.conf'), 'unprivileged: 1\n');
    fs.mkdirSync(path.join(pveDir, 'running'));
    fs.writeFileSync(path.join(pveDir, 'running', '960'), '');
    const deps = defaultActivityDeps({ node: 'pve2', pveDir, pct: STAND_IN_PCT });
    expect(deps.nodeName).toBe('pve2');
    // No cgroup directory here, so the state comes from the stand-in pct of node pve2.
    const activities = createLxcActivities({
      ...deps,
      pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_NODE: 'pve2' },
      runningDir: path.join(pveDir, 'no-cgroup'),
    });
    const read = await activities.readContainer(960);
    expect(read).toMatchObject({ node: 'pve2', running: true });
    expect(read.statusProblem).toBeUndefined();
  });
});
