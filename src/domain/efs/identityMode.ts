/**
 * How a mount gives people one identity on the volume: the shared group (every instance's users join it, the
 * layout is setgid, umask 002) or an EFS access point (EFS acts as the shared identity for every operation), and
 * the registry's people an instance is to hold (`--person`), each with the registry's UID and GID.
 */
import { InputError } from '../errors';
import { validatePersonName } from '../identity/names';
import { validateGid } from './names';

export const IDENTITY_MODES = ['group', 'access-point'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

export function validateIdentityMode(mode: string | undefined, field = '--identity'): IdentityMode {
  const value = mode ?? 'group';
  if (!(IDENTITY_MODES as readonly string[]).includes(value)) {
    throw new InputError(field, `${JSON.stringify(value)} is not an identity mode: choose ${IDENTITY_MODES.join(' or ')}`);
  }
  return value as IdentityMode;
}

/** A person as the registry holds them, to be created on an instance with exactly these numbers. */
export interface ProvisionedPerson {
  name: string;
  uid: number;
  gid: number;
}

/** Names and numbers checked as the registry checks them; the same person twice is once, two people on one number never. */
export function validatePeople(people: readonly ProvisionedPerson[], field = '--person'): ProvisionedPerson[] {
  const byName = new Map<string, ProvisionedPerson>();
  for (const person of people) {
    const valid = { name: validatePersonName(person.name, field), uid: validateGid(person.uid, field), gid: validateGid(person.gid, field) };
    const earlier = byName.get(valid.name);
    if (earlier && (earlier.uid !== valid.uid || earlier.gid !== valid.gid)) throw new InputError(field, `${valid.name} is named twice with different numbers`);
    const sameUid = [...byName.values()].find((p) => p.name !== valid.name && p.uid === valid.uid);
    if (sameUid) throw new InputError(field, `${valid.name} and ${sameUid.name} both have UID ${valid.uid}`);
    byName.set(valid.name, valid);
  }
  return [...byName.values()];
}

/** Through an access point every file belongs to the shared identity, so a personal users/<name>/ cannot be had there. */
export function checkIdentityCombination(mode: IdentityMode, people: readonly unknown[]): void {
  if (mode === 'access-point' && people.length > 0) {
    throw new InputError(
      '--person',
      'gives each person users/<name>/ owned by their UID, but through an access point every file belongs to the shared identity: use --person with --identity group, or drop it',
    );
  }
}
