import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Shared by the LXC integration tests: real directories, real ownership, a stand-in pct. */

export const STAND_IN_PCT = path.resolve(__dirname, '../fixtures/bin/pct');

/** A fresh directory under /tmp that a mapped container user can traverse (mkdtemp makes 0700). */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sharemount-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export function owner(file: string): string {
  const st = fs.lstatSync(file);
  return `${st.uid}:${st.gid}`;
}

/** Creates files (content = their name) and directories (names ending in /) under root. */
export function makeTree(root: string, entries: string[]): void {
  for (const entry of entries) {
    const full = path.join(root, entry);
    if (entry.endsWith('/')) fs.mkdirSync(full, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, entry);
    }
  }
}

/** Every path under root (root included), found with lstat only. */
export function allPaths(root: string): string[] {
  const out = [root];
  for (const name of fs.readdirSync(root)) {
    const full = path.join(root, name);
    const st = fs.lstatSync(full);
    if (st.isDirectory()) out.push(...allPaths(full));
    else out.push(full);
  }
  return out;
}

/** A pve dir for the stand-in pct: lxc/<ctid>.conf per container, running/<ctid> when it runs. */
export function makePveDir(containers: Record<number, { conf: string; running?: boolean }>): string {
  const pveDir = scratchDir('pve');
  fs.mkdirSync(path.join(pveDir, 'lxc'));
  fs.mkdirSync(path.join(pveDir, 'running'));
  for (const [ctid, { conf, running }] of Object.entries(containers)) {
    fs.writeFileSync(path.join(pveDir, 'lxc', `${ctid}.conf`), conf);
    if (running) fs.writeFileSync(path.join(pveDir, 'running', ctid), '');
  }
  return pveDir;
}

export function pctCalls(logFile: string): string[][] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}

/**
 * newuidmap/newgidmap only map ranges that /etc/subuid and /etc/subgid delegate to the caller; Proxmox hosts
 * have `root:100000:65536`. Added once, idempotently.
 */
export function ensureSubordinateIds(range = 'root:100000:65536'): void {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (!text.split('\n').includes(range)) fs.appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}${range}\n`);
  }
}

export function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

export function unmount(target: string): void {
  spawnSync('umount', ['-l', target], { stdio: 'pipe' });
}
