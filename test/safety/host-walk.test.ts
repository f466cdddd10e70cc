/**
 * Host-walk attacks through Temporal: container root can write into a volume, so it plants a symlink to a
 * host file, a symlink to a host directory, a symlinked directory loop, a hard link to a host file and a bind
 * mount of a host directory, and swaps directories for symlinks to the host while the walk runs. The real
 * lxcApplyWorkflow runs on a real worker with the real activities (fullScan, so every entry is visited); no
 * host file outside the volume may change owner or mode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import type { LxcVolume } from '../../src/domain/lxc/volume';
import type { LxcApplyResult } from '../../src/workflows';
import { makePveDir, makeTree, mount, owner, scratchDir, STAND_IN_PCT, unmount } from '../integration/lxc-support';
import { describeNeeding, needs } from '../support/requires';
import { diffSnapshots, snapshot } from '../support/snapshot';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

describeNeeding([needs.rootNamespaces()], 'host-walk attacks through the real LXC apply workflow', () => {
  const base = scratchDir('hostwalk');
  const outside = path.join(base, 'host');
  const vol = path.join(base, 'vol');
  const mounted: string[] = [];
  let stopSwapping = false;
  let pveDir: string | undefined;

  afterAll(() => {
    stopSwapping = true;
    for (const target of mounted.reverse()) unmount(target);
    fs.rmSync(base, { recursive: true, force: true });
    if (pveDir) fs.rmSync(pveDir, { recursive: true, force: true });
  });

  test('no host file outside the volume changes owner or mode', async () => {
    // The host: files and a directory tree a root-owned service would keep, 0640 / 0750.
    makeTree(outside, ['shadow', 'passwd', 'keys/id', 'keys/sub/deep', 'etc/conf']);
    for (const f of ['shadow', 'passwd', 'keys/id', 'keys/sub/deep', 'etc/conf']) fs.chmodSync(path.join(outside, f), 0o640);
    for (const d of ['keys', 'keys/sub', 'etc']) fs.chmodSync(path.join(outside, d), 0o750);
    // The volume, and what container root planted in it.
    const DIRS = 300;
    makeTree(
      vol,
      Array.from({ length: DIRS * 20 }, (_, i) => `big/d${String(i % DIRS).padStart(3, '0')}/f${i}`),
    );
    fs.symlinkSync(path.join(outside, 'shadow'), path.join(vol, 'to-file'));
    fs.symlinkSync(outside, path.join(vol, 'to-dir'));
    fs.mkdirSync(path.join(vol, 'loop'));
    fs.symlinkSync('..', path.join(vol, 'loop', 'up'));
    fs.symlinkSync('../loop', path.join(vol, 'loop', 'again'));
    fs.linkSync(path.join(outside, 'passwd'), path.join(vol, 'hard'));
    fs.mkdirSync(path.join(vol, 'mnt'));
    mount(['--bind', path.join(outside, 'etc'), path.join(vol, 'mnt')]);
    mounted.push(path.join(vol, 'mnt'));
    const hostBefore = snapshot(outside);

    pveDir = makePveDir({ 101: { conf: 'arch: amd64\nunprivileged: 1\n', running: true } });
    const activities = createLxcActivities({ pveDir, pct: STAND_IN_PCT, pctEnv: { SHAREMOUNT_PVE_DIR: pveDir }, runningDir: path.join(pveDir, 'running') });
    const volume: LxcVolume = { name: 'attacked', hostPath: vol, owner: { kind: 'container_root' }, mounts: [{ ctid: 101, containerPath: '/mnt/attacked' }] };
    const taskQueue = uniqueTaskQueue('hostwalk');
    const { client, close } = await testClient();

    // The attacker: while the workflow runs, swap directories of big/ for symlinks to the host, one by one,
    // from the end (the walk visits in listing order, so many are swapped before it gets there and some while
    // it is inside them).
    let swapped = 0;
    const swapper = (async () => {
      const names = fs.readdirSync(path.join(vol, 'big')).sort().reverse();
      for (const name of names) {
        if (stopSwapping) break;
        const dir = path.join(vol, 'big', name);
        try {
          fs.renameSync(dir, `${dir}-moved`);
          fs.symlinkSync(outside, dir);
          swapped++;
        } catch {
          // raced with the walk's own view; try the next one
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    let result: LxcApplyResult;
    try {
      result = (await withWorker({ taskQueue, activities }, () =>
        client.workflow.execute('lxcApplyWorkflow', {
          taskQueue,
          workflowId: `hostwalk-${taskQueue}`,
          args: [{ node: 'hostwalk', volumes: [volume], fixDrift: false, fullScan: true }],
        }),
      )) as LxcApplyResult;
    } finally {
      stopSwapping = true;
      await swapper;
      await close();
    }

    const changed = diffSnapshots(hostBefore, snapshot(outside));
    expect(changed).toEqual([]);
    expect(owner(outside)).toBe('0:0');
    expect(result.ok).toBe(true);
    const ownership = result.volumes[0].result!.ownership;
    expect(ownership.refused.map((r) => path.basename(r.path))).toContain('hard');
    expect(ownership.skippedMounts).toBeGreaterThanOrEqual(1);
    expect(ownership.skippedSymlinks).toBeGreaterThanOrEqual(4);
    // everything else became container root's; the root waits for the refused hard link, so the next run's
    // root check does not skip over it
    expect(ownership.rootLeft).toBe(true);
    expect(owner(vol)).toBe('0:0');
    expect(owner(path.join(vol, 'loop'))).toBe('100000:100000');
    expect(owner(path.join(vol, 'hard'))).toBe('0:0');
    expect(swapped).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(pveDir, 'lxc', '101.conf'), 'utf8')).toContain(`mp0: ${vol},mp=/mnt/attacked\n`);
    console.log(
      `SUMMARY ${JSON.stringify({
        scenario: 'host-walk',
        attacks: ['symlink-to-file', 'symlink-to-dir', 'symlink-loop', 'hard-link', 'bind-mount', 'dir-swapped-mid-walk'],
        dirsSwappedDuringRun: swapped,
        entries: ownership.entries,
        changed: ownership.changed,
        refused: ownership.refusedCount,
        skippedSymlinks: ownership.skippedSymlinks,
        skippedMounts: ownership.skippedMounts,
        hostFilesChecked: hostBefore.size,
        hostFilesChanged: changed.length,
      })}`,
    );
  }, 120_000);
});
