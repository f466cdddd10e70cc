/**
 * What gatherInstanceFacts reports about an instance, and what the workflow decides from it before anything
 * changes: which users collide across instances (EFS stores numeric IDs, so users/<name>/ belongs to a UID).
 */

export interface OsRelease {
  /** os-release ID, e.g. amzn, ubuntu, rocky. */
  id: string;
  versionId: string;
  /** os-release ID_LIKE, split on spaces. */
  idLike: string[];
}

export interface LoginUser {
  name: string;
  uid: number;
  gid: number;
}

export interface InstanceFacts {
  instanceId: string;
  os: OsRelease;
  users: LoginUser[];
  mountEfsInstalled: boolean;
  /** Everything the mount's steps make was found in place: the run changes nothing there. */
  converged: boolean;
  /** What is not yet as the steps leave it, one line each (empty when converged). */
  drift: string[];
}

const FACT_LINE = /^SHAREMOUNT_FACT (os|user|mount-efs|drift|converged) (.*)$/;

/**
 * The facts in the step's stdout (SHAREMOUNT_FACT lines); a line that does not parse is left out. Converged
 * only when the script said so and named no drift: a truncated output is never taken for "nothing to do".
 */
export function parseInstanceFacts(instanceId: string, stdout: string): InstanceFacts {
  const facts: InstanceFacts = { instanceId, os: { id: '', versionId: '', idLike: [] }, users: [], mountEfsInstalled: false, converged: false, drift: [] };
  for (const raw of stdout.split('\n')) {
    const match = FACT_LINE.exec(raw.replace(/\r$/, ''));
    if (!match) continue;
    const [, kind, value] = match;
    if (kind === 'os') {
      const [id = '', versionId = '', idLike = ''] = value.split('|');
      facts.os = { id: id.trim(), versionId: versionId.trim(), idLike: idLike.split(' ').filter(Boolean) };
    } else if (kind === 'user') {
      const user = /^([_a-z][_a-z0-9-]*) ([0-9]+) ([0-9]+)$/.exec(value.trim());
      if (user) facts.users.push({ name: user[1], uid: Number(user[2]), gid: Number(user[3]) });
    } else if (kind === 'mount-efs') {
      facts.mountEfsInstalled = value.trim() === 'yes';
    } else if (kind === 'drift') {
      facts.drift.push(value.trim());
    } else {
      facts.converged = value.trim() === 'yes';
    }
  }
  if (facts.drift.length > 0) facts.converged = false;
  return facts;
}

export interface IdentityCollision {
  kind: 'same-uid-different-names' | 'same-name-different-uids';
  /** The UID (same-uid) or the user name (same-name) they share. */
  shared: string;
  /** Who holds it where: `name (UID n) on i-…`. */
  holders: string[];
  /** What it means for users/<name>/ on the shared volume, in words. */
  meaning: string;
}

function holderText(instanceId: string, user: LoginUser): string {
  return `${user.name} (UID ${user.uid}) on ${instanceId}`;
}

function groupBy<K>(entries: { instanceId: string; user: LoginUser }[], key: (user: LoginUser) => K): Map<K, { instanceId: string; user: LoginUser }[]> {
  const groups = new Map<K, { instanceId: string; user: LoginUser }[]>();
  for (const entry of entries) groups.set(key(entry.user), [...(groups.get(key(entry.user)) ?? []), entry]);
  return groups;
}

/**
 * Users whose numeric IDs disagree across instances. The NFS server keeps only numbers: a file written by UID
 * 1000 on one instance belongs to whoever is UID 1000 on the next.
 */
export function findIdentityCollisions(instances: readonly InstanceFacts[]): IdentityCollision[] {
  const entries = instances.flatMap((i) => i.users.map((user) => ({ instanceId: i.instanceId, user })));
  const collisions: IdentityCollision[] = [];
  for (const [uid, holders] of groupBy(entries, (u) => u.uid)) {
    const names = [...new Set(holders.map((h) => h.user.name))].sort();
    if (names.length < 2) continue;
    collisions.push({
      kind: 'same-uid-different-names',
      shared: String(uid),
      holders: holders.map((h) => holderText(h.instanceId, h.user)),
      meaning: `${names.map((n) => `users/${n}/`).join(' and ')} all belong to UID ${uid}: each of ${names.join(', ')} owns the others' directories and files on the volume`,
    });
  }
  for (const [name, holders] of groupBy(entries, (u) => u.name)) {
    const uids = [...new Set(holders.map((h) => h.user.uid))].sort((a, b) => a - b);
    if (uids.length < 2) continue;
    collisions.push({
      kind: 'same-name-different-uids',
      shared: name,
      holders: holders.map((h) => holderText(h.instanceId, h.user)),
      meaning: `users/${name}/ is owned by one UID of ${uids.join(', ')}: ${name} on the instances with the other UID cannot write their own directory (give ${name} one UID everywhere, or use access points)`,
    });
  }
  return collisions;
}

/** One line per collision, for progress rows, results and plans. */
export function collisionInWords(collision: IdentityCollision): string {
  const what = collision.kind === 'same-uid-different-names' ? `UID ${collision.shared} has different names` : `user ${collision.shared} has different UIDs`;
  return `${what} (${collision.holders.join(', ')}): ${collision.meaning}`;
}
