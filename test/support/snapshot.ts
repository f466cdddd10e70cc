/**
 * A before/after picture of a directory tree for "nothing changed" proofs: every entry's type, owner, mode,
 * size, link target and a hash of file contents (configs included), found with lstat only.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Snapshot = Map<string, string>;

export function snapshot(root: string, skip: (file: string) => boolean = () => false): Snapshot {
  const out: Snapshot = new Map();
  const visit = (file: string) => {
    if (skip(file)) return;
    const st = fs.lstatSync(file);
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink}`;
    if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(file)}`;
    else if (st.isFile()) what += ` ${st.size} ${createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16)}`;
    out.set(path.relative(root, file) || '.', what);
    if (st.isDirectory()) for (const name of fs.readdirSync(file).sort()) visit(path.join(file, name));
  };
  visit(root);
  return out;
}

/** Entries added, removed or changed between two snapshots, in words. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const changes: string[] = [];
  for (const [file, what] of before) {
    if (!after.has(file)) changes.push(`removed ${file}`);
    else if (after.get(file) !== what) changes.push(`changed ${file}: ${what} -> ${after.get(file)}`);
  }
  for (const file of after.keys()) if (!before.has(file)) changes.push(`added ${file}`);
  return changes;
}
