/**
 * The registry's state and every rule that changes it, as pure functions: the entity workflow
 * (src/workflows/registry.ts) only holds the state and calls these, in its validators and its handlers.
 *
 * UIDs are allocated, never derived from the name (a hash of names collides), and a UID once given is never
 * given again, even after its person is removed: files on a volume outlive accounts, and a new person must
 * not inherit a former one's files.
 */
import { InputError } from '../errors';
import { describeConfig, resolveRegistryConfig, sameConfig, type RegistryConfig } from './config';
import { validatePersonName } from './names';

export interface Person {
  name: string;
  uid: number;
  /** The person's private group (useradd's USERGROUPS_ENAB): same number as the UID. */
  gid: number;
  /** Every person is in the shared group too. */
  groups: string[];
  addedAt: string;
}

export interface RetiredPerson {
  name: string;
  uid: number;
  removedAt: string;
}

export interface RegistryState {
  config: RegistryConfig;
  people: Person[];
  retired: RetiredPerson[];
}

export interface AddPersonRequest {
  name: string;
  /** A UID the operator chose; otherwise the lowest never-given UID of the range. */
  uid?: number;
  /** Only honoured when the registry is created; a different value later is refused. */
  config?: Partial<RegistryConfig>;
}

export interface AddPersonResult {
  person: Person;
  /** False when the name was already registered: the same UID as before. */
  created: boolean;
}

export interface RemovePersonResult {
  removed: RetiredPerson;
}

export function emptyRegistry(config?: Partial<RegistryConfig>): RegistryState {
  return { config: resolveRegistryConfig(config), people: [], retired: [] };
}

export function findPerson(state: RegistryState, name: string): Person | undefined {
  return state.people.find((p) => p.name === name);
}

function given(state: RegistryState): Set<number> {
  return new Set([...state.people.map((p) => p.uid), ...state.retired.map((p) => p.uid)]);
}

/** Why this UID cannot be given now, or undefined. The shared group's GID is skipped: it is the shared identity's. */
function uidProblem(state: RegistryState, uid: number): string | undefined {
  const { people, sharedGroup } = state.config;
  if (!Number.isInteger(uid) || uid < people.first || uid > people.last) return `${uid} is outside the registry's range ${people.first}-${people.last}`;
  if (uid === sharedGroup.gid) return `${uid} is the shared group ${sharedGroup.name}'s GID (and the access points' UID)`;
  const holder = state.people.find((p) => p.uid === uid);
  if (holder) return `${uid} belongs to ${holder.name}`;
  const former = state.retired.find((p) => p.uid === uid);
  if (former) return `${uid} belonged to ${former.name}, removed ${former.removedAt}: a UID is never given twice`;
  return undefined;
}

function lowestFreeUid(state: RegistryState): number | undefined {
  const taken = given(state);
  for (let uid = state.config.people.first; uid <= state.config.people.last; uid++) {
    if (!taken.has(uid) && uid !== state.config.sharedGroup.gid) return uid;
  }
  return undefined;
}

/**
 * The validator's rule for an add: every reason it cannot be recorded, as an InputError naming the field, or
 * undefined. A second add of a registered name is fine (it returns the same person) unless it asks for
 * another UID.
 */
export function addPersonProblem(state: RegistryState, request: AddPersonRequest): InputError | undefined {
  try {
    return addRequestProblem(state, request);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
}

function addRequestProblem(state: RegistryState, request: AddPersonRequest): InputError | undefined {
  if (typeof request?.name !== 'string') return new InputError('<name>', 'name the person to add');
  validatePersonName(request.name);
  if (request.config && !sameConfig(resolveRegistryConfig(request.config), state.config)) {
    return new InputError('--uid-range', `this registry uses ${describeConfig(state.config)}; it was fixed when the registry was created`);
  }
  if (request.name === state.config.sharedGroup.name) {
    return new InputError('<name>', `${JSON.stringify(request.name)} is the shared group's name; choose the person's own name`);
  }
  const existing = findPerson(state, request.name);
  if (existing) {
    if (request.uid !== undefined && request.uid !== existing.uid) {
      return new InputError('--uid', `${request.name} already has UID ${existing.uid}; remove them first to renumber (the old UID is then retired)`);
    }
    return undefined;
  }
  if (request.uid !== undefined) {
    const problem = uidProblem(state, request.uid);
    return problem ? new InputError('--uid', `${problem}; leave --uid out to get the next free one`) : undefined;
  }
  if (lowestFreeUid(state) === undefined) {
    const { first, last } = state.config.people;
    return new InputError(
      '<name>',
      `every UID of ${first}-${last} has been given; the range is fixed, so create another registry (--registry) with a wider one`,
    );
  }
  return undefined;
}

/** Records an add the validator accepted. Throws the validator's error if the state changed in between. */
export function addPerson(state: RegistryState, request: AddPersonRequest, now: string): { state: RegistryState; result: AddPersonResult } {
  const problem = addPersonProblem(state, request);
  if (problem) throw problem;
  const existing = findPerson(state, request.name);
  if (existing) return { state, result: { person: existing, created: false } };
  const uid = request.uid ?? lowestFreeUid(state)!;
  const person: Person = { name: request.name, uid, gid: uid, groups: [state.config.sharedGroup.name], addedAt: now };
  return { state: { ...state, people: [...state.people, person] }, result: { person, created: true } };
}

export function removePersonProblem(state: RegistryState, name: string): InputError | undefined {
  if (typeof name !== 'string') return new InputError('<name>', 'name the person to remove');
  if (findPerson(state, name)) return undefined;
  const former = state.retired.filter((p) => p.name === name).pop();
  const why = former ? `was removed ${former.removedAt} (UID ${former.uid} stays retired)` : 'is not registered';
  return new InputError('<name>', `${JSON.stringify(name)} ${why}; see who is with \`sharemount users list\``);
}

/** Removes a person; their UID moves to the retired list and is never given again. */
export function removePerson(state: RegistryState, name: string, now: string): { state: RegistryState; result: RemovePersonResult } {
  const problem = removePersonProblem(state, name);
  if (problem) throw problem;
  const person = findPerson(state, name)!;
  const removed: RetiredPerson = { name, uid: person.uid, removedAt: now };
  return { state: { ...state, people: state.people.filter((p) => p.name !== name), retired: [...state.retired, removed] }, result: { removed } };
}

/** What `users list` shows: people by UID, and the shared group. */
export function listing(state: RegistryState): {
  sharedGroup: RegistryConfig['sharedGroup'];
  range: RegistryConfig['people'];
  people: Person[];
  retired: RetiredPerson[];
} {
  return {
    sharedGroup: state.config.sharedGroup,
    range: state.config.people,
    people: [...state.people].sort((a, b) => a.uid - b.uid),
    retired: state.retired,
  };
}
