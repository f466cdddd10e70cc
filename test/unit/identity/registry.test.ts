import { InputError } from '../../../src/domain/errors';
import {
  addPerson,
  addPersonProblem,
  emptyRegistry,
  listing,
  parseUidRange,
  removePerson,
  removePersonProblem,
  resolveRegistryConfig,
  validatePersonName,
  type RegistryState,
} from '../../../src/domain/identity';

const NOW = '2026-01-01T00:00:00.000Z';

function add(state: RegistryState, name: string, uid?: number) {
  return addPerson(state, { name, uid }, NOW);
}

describe('person names', () => {
  test.each(['alice', 'bob_2', '_svc', 'a-b'])('%s is accepted', (name) => expect(validatePersonName(name)).toBe(name));
  test.each(['Alice', '1alice', 'a b', 'a;id', '$(id)', '', 'x'.repeat(33), 'alice$'])('%j is refused naming <name>', (name) => {
    expect(() => validatePersonName(name)).toThrow(InputError);
  });
  test.each(['root', 'ubuntu', 'ec2-user', 'rocky', 'nobody', 'sudo', 'systemd-network'])('%s is reserved', (name) => {
    expect(() => validatePersonName(name)).toThrow(/system or image account/);
  });
});

describe('allocation', () => {
  test('people get 2000 up by default; the shared group keeps 3000 / prism-shared', () => {
    const state = emptyRegistry();
    expect(state.config).toEqual({ people: { first: 2000, last: 9999 }, sharedGroup: { name: 'prism-shared', gid: 3000 } });
    const { state: s1, result } = add(state, 'alice');
    expect(result).toEqual({ created: true, person: { name: 'alice', uid: 2000, gid: 2000, groups: ['prism-shared'], addedAt: NOW } });
    expect(add(s1, 'bob').result.person.uid).toBe(2001);
  });

  test('a second add of the same name returns the same UID and changes nothing', () => {
    const { state } = add(emptyRegistry(), 'alice');
    const again = add(state, 'alice');
    expect(again.result).toMatchObject({ created: false, person: { uid: 2000 } });
    expect(again.state).toBe(state);
  });

  test('UIDs do not depend on the name: the same names in another order get other UIDs', () => {
    const ab = add(add(emptyRegistry(), 'alice').state, 'bob').state;
    const ba = add(add(emptyRegistry(), 'bob').state, 'alice').state;
    expect(ab.people.find((p) => p.name === 'alice')!.uid).toBe(2000);
    expect(ba.people.find((p) => p.name === 'alice')!.uid).toBe(2001);
  });

  test('a removed UID is never given again, not even to the same name', () => {
    let state = add(emptyRegistry(), 'alice').state;
    state = removePerson(state, 'alice', NOW).state;
    expect(state.retired).toEqual([{ name: 'alice', uid: 2000, removedAt: NOW }]);
    expect(add(state, 'bob').result.person.uid).toBe(2001);
    expect(addPersonProblem(state, { name: 'carol', uid: 2000 })?.message).toMatch(/--uid: 2000 belonged to alice.*never given twice/);
    expect(add(state, 'alice').result.person.uid).toBe(2001);
  });

  test('the shared GID is skipped, so no person shares a number with the shared identity', () => {
    const state = emptyRegistry({ people: { first: 2999, last: 3001 } });
    const s1 = add(state, 'a').state;
    const s2 = add(s1, 'b');
    expect(s2.result.person.uid).toBe(3001);
    expect(addPersonProblem(state, { name: 'c', uid: 3000 })?.field).toBe('--uid');
  });

  test('an explicit UID must be in the range and free', () => {
    const state = add(emptyRegistry(), 'alice').state;
    expect(add(state, 'bob', 2500).result.person.uid).toBe(2500);
    expect(addPersonProblem(state, { name: 'bob', uid: 2000 })?.message).toMatch(/--uid: 2000 belongs to alice/);
    expect(addPersonProblem(state, { name: 'bob', uid: 1500 })?.message).toMatch(/outside the registry's range 2000-9999/);
    expect(addPersonProblem(state, { name: 'alice', uid: 2001 })?.message).toMatch(/already has UID 2000/);
    expect(addPersonProblem(state, { name: 'alice', uid: 2000 })).toBeUndefined();
  });

  test('a full range says so and how to go on', () => {
    const state = add(emptyRegistry({ people: { first: 2000, last: 2000 } }), 'a').state;
    expect(addPersonProblem(state, { name: 'b' })?.message).toMatch(/every UID of 2000-2000 has been given/);
    expect(() => add(state, 'b')).toThrow(InputError);
  });

  test('bad requests from any client are refused, not recorded', () => {
    const state = emptyRegistry();
    expect(addPersonProblem(state, { name: 'root' })?.field).toBe('<name>');
    expect(addPersonProblem(state, { name: 'prism-shared' })?.message).toMatch(/shared group's name/);
    expect(addPersonProblem(state, {} as never)?.field).toBe('<name>');
    expect(addPersonProblem(state, { name: 'bob', config: { people: { first: 5000, last: 5999 } } })?.field).toBe('--uid-range');
    expect(addPersonProblem(state, { name: 'bob', config: { people: { first: 2000, last: 9999 } } })).toBeUndefined();
  });

  test('removing someone not registered is refused with the way to look', () => {
    expect(removePersonProblem(emptyRegistry(), 'alice')?.message).toMatch(/is not registered; see who is with `sharemount users list`/);
    const gone = removePerson(add(emptyRegistry(), 'alice').state, 'alice', NOW).state;
    expect(removePersonProblem(gone, 'alice')?.message).toMatch(/was removed .* \(UID 2000 stays retired\)/);
  });

  test('listing sorts by UID', () => {
    const state = add(add(emptyRegistry(), 'zed', 2005).state, 'amy').state;
    expect(listing(state).people.map((p) => [p.name, p.uid])).toEqual([
      ['amy', 2000],
      ['zed', 2005],
    ]);
  });
});

describe('configuration', () => {
  test('ranges', () => {
    expect(parseUidRange('5000-5999')).toEqual({ first: 5000, last: 5999 });
    expect(() => parseUidRange('5999-5000')).toThrow(/--uid-range: 5999-5000 is empty/);
    expect(() => parseUidRange('0-100')).toThrow(/system accounts live below 1000/);
    expect(() => parseUidRange('abc')).toThrow(/write FIRST-LAST/);
  });
  test('shared group', () => {
    expect(() => resolveRegistryConfig({ sharedGroup: { name: 'wheel', gid: 3000 } })).toThrow(/--shared-group/);
    expect(() => resolveRegistryConfig({ sharedGroup: { name: 'team', gid: 70000 } })).toThrow(/--shared-gid/);
  });
});
