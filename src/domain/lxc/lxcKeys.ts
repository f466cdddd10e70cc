/**
 * What Proxmox does with a raw `lxc.*` line of a container config: pve-container's `is_valid_lxc_conf_key`
 * (src/PVE/LXC/Config.pm), as `parse_pct_config` calls it. Keys it knows are kept and passed to LXC; renamed and
 * deprecated ones are kept too, with a warning; a few it explains are dropped with its reason; any other
 * `lxc.*` key is dropped as a line it cannot parse. Nothing here is fatal: Proxmox only warns (non-strict parse).
 */

/** `$valid_lxc_conf_keys` with value 1: passed to LXC as they are. */
const VALID = new Set(
  (
    'apparmor.profile apparmor.allow_incomplete apparmor.allow_nesting apparmor.raw selinux.context include arch uts.name ' +
    'signal.halt signal.reboot signal.stop init.cmd init.cwd init.uid init.gid init.groups pty.max console.logfile ' +
    'console.path tty.max devtty.dir hook.autodev autodev kmsg mount.fstab mount.entry mount.auto rootfs.mount cap.drop ' +
    'cap.keep seccomp.profile seccomp.notify.proxy seccomp.notify.cookie idmap hook.pre-start hook.pre-mount hook.mount ' +
    'hook.start hook.stop hook.post-stop hook.clone hook.destroy hook.version log.level log.file start.auto start.delay ' +
    'start.order group environment environment.runtime environment.hooks sysctl.fs.mqueue sysctl.kernel.msgmax ' +
    'sysctl.kernel.msgmnb sysctl.kernel.msgmni sysctl.kernel.sem sysctl.kernel.shmall sysctl.kernel.shmmax ' +
    'sysctl.kernel.shmmni sysctl.kernel.shm_rmid_forced'
  )
    .split(' ')
    .map((k) => `lxc.${k}`),
);

/** `$valid_lxc_conf_keys` with a message: refused with Proxmox's reason, the line dropped. */
const REFUSED: Record<string, string> = {
  'lxc.rootfs.path': 'lxc.rootfs.path is auto generated from rootfs',
  'lxc.rootfs.options': 'lxc.rootfs.options is not supported, please use mount point options in the "rootfs" key',
};

/** `$deprecated_lxc_conf_keys`: removed with LXC 3.0; Proxmox warns and still passes them on. */
const RENAMED: Record<string, string> = {
  'lxc.aa_profile': 'lxc.apparmor.profile',
  'lxc.aa_allow_incomplete': 'lxc.apparmor.allow_incomplete',
  'lxc.console': 'lxc.console.path',
  'lxc.devttydir': 'lxc.tty.dir',
  'lxc.haltsignal': 'lxc.signal.halt',
  'lxc.rebootsignal': 'lxc.signal.reboot',
  'lxc.stopsignal': 'lxc.signal.stop',
  'lxc.id_map': 'lxc.idmap',
  'lxc.init_cmd': 'lxc.init.cmd',
  'lxc.loglevel': 'lxc.log.level',
  'lxc.logfile': 'lxc.log.file',
  'lxc.mount': 'lxc.mount.fstab',
  'lxc.network.type': 'lxc.net.INDEX.type',
  'lxc.network.flags': 'lxc.net.INDEX.flags',
  'lxc.network.link': 'lxc.net.INDEX.link',
  'lxc.network.mtu': 'lxc.net.INDEX.mtu',
  'lxc.network.name': 'lxc.net.INDEX.name',
  'lxc.network.hwaddr': 'lxc.net.INDEX.hwaddr',
  'lxc.network.ipv4': 'lxc.net.INDEX.ipv4.address',
  'lxc.network.ipv4.gateway': 'lxc.net.INDEX.ipv4.gateway',
  'lxc.network.ipv6': 'lxc.net.INDEX.ipv6.address',
  'lxc.network.ipv6.gateway': 'lxc.net.INDEX.ipv6.gateway',
  'lxc.network.script.up': 'lxc.net.INDEX.script.up',
  'lxc.network.script.down': 'lxc.net.INDEX.script.down',
  'lxc.pts': 'lxc.pty.max',
  'lxc.se_context': 'lxc.selinux.context',
  'lxc.seccomp': 'lxc.seccomp.profile',
  'lxc.tty': 'lxc.tty.max',
  'lxc.utsname': 'lxc.uts.name',
};

export interface LxcKeyVerdict {
  /** Proxmox keeps the line and hands it to LXC. */
  kept: boolean;
  /** What Proxmox warns, when it does. */
  warning?: string;
}

/** is_valid_lxc_conf_key, in its order; `line` is the whole line, which Proxmox quotes for a key it does not know. */
export function lxcKeyVerdict(key: string, line: string): LxcKeyVerdict {
  if (key.startsWith('lxc.limit.')) return { kept: true, warning: `${key}: lxc.limit.* was renamed to lxc.prlimit.*` };
  const renamed = RENAMED[key];
  if (renamed !== undefined) {
    // parse_id_maps reads lxc.idmap only, so the old name maps nothing.
    const idmap = key === 'lxc.id_map' ? '; Proxmox does not apply it as an idmap' : '';
    return { kept: true, warning: `${key} is deprecated and was renamed to ${renamed}${idmap}` };
  }
  if (VALID.has(key)) return { kept: true };
  const refused = REFUSED[key];
  if (refused !== undefined) return { kept: false, warning: `${key}: ${refused}` };
  if (key.startsWith('lxc.cgroup.')) return { kept: true, warning: `${key} is deprecated, this will be a hard error in the future!` };
  if (/^lxc\.(cgroup2|prlimit|net)\./.test(key)) return { kept: true };
  return { kept: false, warning: `unable to parse config: ${line}` };
}
