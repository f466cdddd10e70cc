/**
 * The corpus: container configs modelled on what Proxmox nodes hold (test/fixtures/pve/<ctid>.conf), each
 * planned for one volume (/mnt/pve/tank/share at /srv/share). The expected root ids, slots, mount states and
 * warnings were worked out by hand from pve-container's code; each row names the function that decides it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLxcConfig } from '../../../src/domain/lxc/config';
import { buildLxcPlan } from '../../../src/domain/lxc/plan';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'pve');
const HOST = '/mnt/pve/tank/share';

interface Expected {
  root: [number, number] | null;
  slot: number;
  mount: string;
  /** Disk ids root writes as through the mount, when a mount idmap makes them differ. */
  writesAs?: [number, number];
  /** Lines Proxmox warns about. */
  warns?: number[];
  /** A plan error for this container (conflict, protection). */
  error?: RegExp;
}

const CORPUS: Array<[number, string, Expected]> = [
  [101, 'parse_id_maps: unprivileged without lxc.idmap is 0 100000 65536', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [102, 'parse_id_maps: privileged, no map: root is 0', { root: [0, 0], slot: 0, mount: 'present' }],
  [103, 'classify_mountpoint: mp0 a storage volume elsewhere, mp1 this bind', { root: [100000, 100000], slot: 1, mount: 'present' }],
  [104, 'parse_id_maps: the root range of a passthrough-1000 map', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [105, 'parse_id_maps: a custom range replaces the default', { root: [200000, 200000], slot: 0, mount: 'new' }],
  [
    106,
    'classify_mountpoint: a ZFS subvol at the path is a volume: conflict',
    { root: [100000, 100000], slot: 0, mount: 'conflict', error: /storage volume.*never replaces it/ },
  ],
  [107, 'classify_mountpoint: an LVM volume at the path: conflict', { root: [100000, 100000], slot: 0, mount: 'conflict', error: /never replaces it/ }],
  [108, 'classify_mountpoint: /dev/… is a device: conflict', { root: [100000, 100000], slot: 0, mount: 'conflict', error: /a device/ }],
  [109, 'mountpoint_mount: ro=1 mounts read-only', { root: [100000, 100000], slot: 0, mount: 'readOnly' }],
  [
    110,
    'parse_property_string: uid= is no mount point key; foreach_volume_full skips the mount',
    { root: [100000, 100000], slot: 0, mount: 'ignored', warns: [10] },
  ],
  [111, 'parse_pct_config: "mp0 = …" matches no pattern, only warns; the slot stays free', { root: [100000, 100000], slot: 0, mount: 'new', warns: [10] }],
  [112, 'vmconfig_hotplug_pending: a running CT keeps a deleted mp in delete:', { root: [100000, 100000], slot: 0, mount: 'pendingDelete' }],
  [113, 'vmconfig_hotplug_pending: the bind waits in [pve:pending]', { root: [100000, 100000], slot: 1, mount: 'pending' }],
  [114, 'parse_pct_config: a line without "key:" warns', { root: [100000, 100000], slot: 0, mount: 'new', warns: [10] }],
  [115, 'parse_property_string: an empty part (trailing comma) is skipped', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [116, 'check_type: "yes" is a true boolean', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [117, 'check_type: mp256 is an unknown setting (256 mount points), warned and ignored', { root: [100000, 100000], slot: 0, mount: 'new', warns: [10] }],
  [
    118,
    'is_valid_lxc_conf_key: lxc.id_map renamed; parse_id_maps reads lxc.idmap only, so the default applies',
    { root: [100000, 100000], slot: 0, mount: 'new', warns: [10, 11] },
  ],
  [119, 'resolve_mountpoint_idmap: passthrough keeps container ids on disk', { root: [100000, 100000], slot: 0, mount: 'present', writesAs: [0, 0] }],
  [120, 'resolve_mountpoint_idmap: listed ranges map root to 5000:5000', { root: [100000, 100000], slot: 0, mount: 'present', writesAs: [5000, 5000] }],
  [
    121,
    'resolve_mountpoint_idmap: a gid the mount leaves out goes through lxc.idmap',
    { root: [100000, 100000], slot: 0, mount: 'present', writesAs: [5000, 100000] },
  ],
  [122, 'mountpoint_hotplug: a privileged container ignores idmap=', { root: [0, 0], slot: 0, mount: 'present' }],
  [123, 'parse_pct_config: snapshot sections are history; their mount points and idmap count for nothing', { root: [100000, 100000], slot: 1, mount: 'new' }],
  [124, 'parse_pct_config: lxc.mount.entry is raw LXC, not a Proxmox mount point', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [125, 'parse_pct_config: # lines at column 0 are the description, even one that looks like mp0', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [126, 'parse_pct_config: an indented # is no comment, only a warning', { root: [100000, 100000], slot: 0, mount: 'new', warns: [10] }],
  [127, 'classify_mountpoint: another host path bound at the path: drift', { root: [100000, 100000], slot: 0, mount: 'drift' }],
  [128, 'parse_id_maps: GPU groups passed through; root stays in the first range', { root: [100000, 100000], slot: 0, mount: 'new' }],
  [129, 'parse_id_maps: no range holds uid 0', { root: null, slot: 0, mount: 'new' }],
  [130, 'parse_id_maps: "failed to parse idmap" (three numbers missing one)', { root: null, slot: 0, mount: 'new' }],
  [131, 'update_pct_config: the pending value replaces the bind at the next start: drift', { root: [100000, 100000], slot: 0, mount: 'drift' }],
  [132, 'check_protection: pct set refuses a new mp', { root: [100000, 100000], slot: 0, mount: 'new', error: /protection: 1/ }],
  [133, 'check_lock: a present mount needs no pct set, so a lock blocks nothing', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [134, 'parse_pct_config: \\s*$ eats the \\r of CRLF lines', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [
    135,
    'foreach_volume_full: an unparseable mp2 still holds its key, so the next free slot is mp4',
    { root: [100000, 100000], slot: 4, mount: 'new', warns: [12] },
  ],
  [136, 'parse_property_string: volume= may be written as a key, anywhere', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [137, 'the same paths, written with extra slashes', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [138, 'mountoptions in $valid_mount_option_re', { root: [100000, 100000], slot: 0, mount: 'present' }],
  [139, 'check_prop: mountoptions=rw matches no pattern; the mount is skipped', { root: [100000, 100000], slot: 0, mount: 'ignored', warns: [10] }],
  [140, 'parse_property_string: backup=0, replicate=0, shared=1 are mount point keys', { root: [100000, 100000], slot: 3, mount: 'present' }],
];

describe('the corpus of container configs, against pve-container', () => {
  it('has at least 30 configs, and a row for each', () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.conf'));
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(files.map((f) => Number(f.replace('.conf', ''))).sort()).toEqual(CORPUS.map(([ctid]) => ctid).sort());
  });

  it.each(CORPUS)('CT %i: %s', (ctid, _rule, expected) => {
    const file = `/etc/pve/lxc/${ctid}.conf`;
    const text = fs.readFileSync(path.join(FIXTURES, `${ctid}.conf`), 'utf8');
    const config = parseLxcConfig(JSON.stringify({ shared_volumes: { share: { host_path: HOST, mounts: { [ctid]: '/srv/share' } } } }));
    const plan = buildLxcPlan(config, { containers: [{ ctid, file, text, running: true }], hostUsers: {} });
    const [container] = plan.volumes[0].containers;
    expect(container.rootUid === null ? null : [container.rootUid, container.rootGid]).toEqual(expected.root);
    expect({ slot: container.slot, mount: container.mount }).toEqual({ slot: expected.slot, mount: expected.mount });
    expect(container.writesAs && [container.writesAs.uid, container.writesAs.gid]).toEqual(expected.writesAs);
    expect((plan.containers[0].warnings ?? []).map((w) => [w.file, w.line])).toEqual((expected.warns ?? []).map((line) => [file, line]));
    const errors = (plan.volumes[0].errors ?? []).map((e) => e.problem);
    if (expected.error) expect(errors).toEqual([expect.stringMatching(expected.error)]);
    else expect(errors).toEqual([]);
  });
});
