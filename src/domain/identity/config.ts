/**
 * The registry's configuration: where people's UIDs come from and which group every person shares. Fixed when
 * the registry is created; a later request that names different values is refused rather than obeyed, so two
 * operators cannot end up with two numbering schemes under one registry.
 */
import { DEFAULT_GID, DEFAULT_GROUP, validateGid, validateGroupName } from '../efs/names';
import { InputError } from '../errors';

export interface UidRange {
  first: number;
  last: number;
}

export interface RegistryConfig {
  /** UIDs handed to people; each person's private group takes the same number as GID. */
  people: UidRange;
  /** The group every person belongs to, and (as UID and GID) the identity an access point imposes. */
  sharedGroup: { name: string; gid: number };
}

export const DEFAULT_PEOPLE_RANGE: UidRange = { first: 2000, last: 9999 };

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  people: DEFAULT_PEOPLE_RANGE,
  sharedGroup: { name: DEFAULT_GROUP, gid: DEFAULT_GID },
};

/** Below 1000 are the distributions' system accounts; above 60000 lies UID_MAX and nobody (65534). */
const ID_FLOOR = 1000;
const ID_CEILING = 60000;

/** `2000-9999` as the operator types it. */
export function parseUidRange(text: string, field = '--uid-range'): UidRange {
  const match = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(text);
  if (!match) throw new InputError(field, `${JSON.stringify(text)} is not a range: write FIRST-LAST, e.g. 2000-9999`);
  return validateUidRange({ first: Number(match[1]), last: Number(match[2]) }, field);
}

export function validateUidRange(range: UidRange, field = '--uid-range'): UidRange {
  if (!Number.isInteger(range.first) || !Number.isInteger(range.last) || range.first > range.last) {
    throw new InputError(field, `${range.first}-${range.last} is empty: the first UID must not exceed the last`);
  }
  if (range.first < ID_FLOOR || range.last > ID_CEILING) {
    throw new InputError(field, `${range.first}-${range.last} leaves ${ID_FLOOR}..${ID_CEILING} (system accounts live below ${ID_FLOOR})`);
  }
  return range;
}

/** Fills in the defaults and checks every value, naming the option that set it. */
export function resolveRegistryConfig(partial: Partial<RegistryConfig> = {}): RegistryConfig {
  const people = validateUidRange(partial.people ?? DEFAULT_REGISTRY_CONFIG.people);
  const shared = partial.sharedGroup ?? DEFAULT_REGISTRY_CONFIG.sharedGroup;
  return {
    people,
    sharedGroup: { name: validateGroupName(shared.name, '--shared-group'), gid: validateGid(shared.gid, '--shared-gid') },
  };
}

export function sameConfig(a: RegistryConfig, b: RegistryConfig): boolean {
  return (
    a.people.first === b.people.first && a.people.last === b.people.last && a.sharedGroup.name === b.sharedGroup.name && a.sharedGroup.gid === b.sharedGroup.gid
  );
}

export function describeConfig(config: RegistryConfig): string {
  return `people ${config.people.first}-${config.people.last}, shared group ${config.sharedGroup.name} (${config.sharedGroup.gid})`;
}
