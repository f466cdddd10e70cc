/** Which instances a fleet run acts on, and who joined and departed since the previous run. */
import { fleetChanges, fleetInWords, previousFleetOf, validateFleetSelection } from '../../../src/domain/efs/fleet';
import { InputError } from '../../../src/domain/errors';

const [A, B, C] = ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2', 'i-0ccccccccccccccc3'];
const tags = [{ key: 'Project', values: ['research'] }];

describe('fleet selection', () => {
  test('no IDs is fine with tags, refused without, naming both ways', () => {
    expect(validateFleetSelection({ instanceIds: [], tags })).toEqual([]);
    expect(() => validateFleetSelection({ instanceIds: [] })).toThrow(InputError);
    expect(() => validateFleetSelection({ instanceIds: [] })).toThrow(/--tag Key=Value/);
    expect(() => validateFleetSelection({ instanceIds: ['i-bad'], tags })).toThrow(/i-bad/);
    expect(fleetInWords({ instanceIds: [A], tags })).toBe(`${A}, instances tagged Project=research`);
  });

  test('joined and departed against the previous run; no previous run: everyone joined', () => {
    expect(fleetChanges([A, B], [B, C])).toEqual({ joined: [C], departed: [A] });
    expect(fleetChanges(undefined, [B, A])).toEqual({ joined: [A, B], departed: [] });
  });

  test("the previous run's instances are read defensively from whatever result Temporal hands over", () => {
    expect(previousFleetOf({ instances: [{ instanceId: A }, { instanceId: 7 }, null] })).toEqual([A]);
    expect(previousFleetOf(undefined)).toBeUndefined();
    expect(previousFleetOf({ volumes: [] })).toBeUndefined();
  });
});
