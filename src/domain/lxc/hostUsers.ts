/** Host accounts as the passwd and group files state them; parsed here so the activity only reads files. */
export interface HostUser {
  name: string;
  uid: number;
  /** Primary group id. */
  gid: number;
  /** Name of the primary group, when the group file has it. */
  group?: string;
}

/** `name:x:uid:gid:…` lines; malformed lines are skipped (they are not ours to judge). */
export function parsePasswd(text: string): Map<string, { uid: number; gid: number }> {
  const users = new Map<string, { uid: number; gid: number }>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || !/^\d+$/.test(fields[2]) || !/^\d+$/.test(fields[3])) continue;
    if (!users.has(fields[0])) users.set(fields[0], { uid: Number(fields[2]), gid: Number(fields[3]) });
  }
  return users;
}

/** gid -> group name from `name:x:gid:members` lines. */
export function parseGroupNames(text: string): Map<number, string> {
  const groups = new Map<number, string>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || !/^\d+$/.test(fields[2])) continue;
    const gid = Number(fields[2]);
    if (!groups.has(gid)) groups.set(gid, fields[0]);
  }
  return groups;
}

export function hostUsersFrom(names: string[], passwd: string, group = ''): Record<string, HostUser> {
  const users = parsePasswd(passwd);
  const groups = parseGroupNames(group);
  const found: Record<string, HostUser> = {};
  for (const name of names) {
    const user = users.get(name);
    if (user) found[name] = { name, uid: user.uid, gid: user.gid, group: groups.get(user.gid) };
  }
  return found;
}
