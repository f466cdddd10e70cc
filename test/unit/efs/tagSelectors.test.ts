import { InputError } from '../../../src/domain/errors';
import { describeTagSelectors, parseTagSelector, parseTagSelectors, tagFilters } from '../../../src/domain/efs/tagSelectors';

describe('--tag selectors', () => {
  test('Key=Value, Key=V1,V2 and a key ending at the first =', () => {
    expect(parseTagSelector('Project=research')).toEqual({ key: 'Project', values: ['research'] });
    expect(parseTagSelector('team=ml,data,ml')).toEqual({ key: 'team', values: ['ml', 'data'] });
    expect(parseTagSelector('aws:autoscaling:groupName=web-asg')).toEqual({ key: 'aws:autoscaling:groupName', values: ['web-asg'] });
    expect(parseTagSelector('env=a=b')).toEqual({ key: 'env', values: ['a=b'] });
    expect(parseTagSelector('Empty=')).toEqual({ key: 'Empty', values: [''] });
  });

  test.each([
    ['research', /not a tag selector: give Key=Value/],
    ['=research', /not a tag selector/],
    ['Pro*ject=x', /not an AWS tag key/],
    [' Project=x', /no leading or trailing space/],
    ['Project=res*', /not an AWS tag value/],
    ['Project=a?c', /not an AWS tag value/],
    ['Project=$(reboot)', /not an AWS tag value/],
    [`${'k'.repeat(129)}=x`, /not an AWS tag key/],
  ])('%j is refused, naming --tag', (text, message) => {
    let error: unknown;
    try {
      parseTagSelector(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('--tag');
    expect((error as InputError).message).toMatch(message);
  });

  test('several selectors: sorted by key, the same key twice refused with the form that works', () => {
    expect(parseTagSelectors(['team=ml', 'Project=research']).map((s) => s.key)).toEqual(['Project', 'team']);
    expect(() => parseTagSelectors(['team=ml', 'team=data'])).toThrow(/given twice.*team=V1,V2/);
  });

  test('EC2 filters: one per tag, plus running only', () => {
    const selectors = parseTagSelectors(['team=ml,data', 'Project=research']);
    expect(tagFilters(selectors)).toEqual([
      { Name: 'tag:Project', Values: ['research'] },
      { Name: 'tag:team', Values: ['ml', 'data'] },
      { Name: 'instance-state-name', Values: ['running'] },
    ]);
    expect(describeTagSelectors(selectors)).toBe('Project=research team=ml,data');
  });
});
