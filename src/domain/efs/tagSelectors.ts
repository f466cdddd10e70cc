/**
 * Instances chosen by tag (`--tag Project=research`): how operators name a fleet that auto-scaling groups and
 * teams launch, so that an instance started tomorrow is found by the next run without anyone listing it.
 * Selectors become EC2 `DescribeInstances` filters; they never reach a shell, but are held to AWS's own tag
 * character set so a typo fails here, naming the flag, rather than as an empty fleet.
 */
import { InputError } from '../errors';

export interface TagSelector {
  key: string;
  /** Any of these values matches (EC2 ORs the values of one filter, and ANDs the filters). */
  values: string[];
}

// AWS tags: letters, digits, spaces and + - = . _ : / @ (keys 1-128, values 0-256). `*` and `?` are EC2
// filter wildcards: outside that set, so a selector names exactly the tag it says and never widens to more.
const TAG_KEY = /^[\p{L}\p{N} +\-=._:/@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{N} +\-=._:/@]{0,256}$/u;

const FIELD = '--tag';
const FORM = 'give Key=Value, or Key=V1,V2 for any of several values';

/** One `--tag` argument: `Key=Value` or `Key=V1,V2`; the key ends at the first `=`. */
export function parseTagSelector(text: string, field = FIELD): TagSelector {
  const at = text.indexOf('=');
  if (at <= 0) throw new InputError(field, `${JSON.stringify(text)} is not a tag selector: ${FORM}`);
  const key = text.slice(0, at);
  const values = text.slice(at + 1).split(',');
  if (!TAG_KEY.test(key) || key.startsWith(' ') || key.endsWith(' ')) {
    throw new InputError(
      field,
      `${JSON.stringify(key)} is not an AWS tag key: 1-128 letters, digits, spaces and + - = . _ : / @, no leading or trailing space`,
    );
  }
  const bad = values.find((value) => !TAG_VALUE.test(value));
  if (bad !== undefined) throw new InputError(field, `${JSON.stringify(bad)} is not an AWS tag value: up to 256 letters, digits, spaces and + - = . _ : / @`);
  return { key, values: [...new Set(values)] };
}

/** Several `--tag` arguments, all of which an instance must match; the same key twice is refused, not guessed. */
export function parseTagSelectors(texts: readonly string[], field = FIELD): TagSelector[] {
  const selectors = texts.map((text) => parseTagSelector(text, field));
  const seen = new Set<string>();
  for (const { key } of selectors) {
    if (seen.has(key))
      throw new InputError(field, `tag ${JSON.stringify(key)} is given twice; an instance matches all --tag options, so list its values once: ${key}=V1,V2`);
    seen.add(key);
  }
  return selectors.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The selectors as they were written, for plans, summaries and schedule descriptions. */
export function describeTagSelectors(selectors: readonly TagSelector[]): string {
  return selectors.map((s) => `${s.key}=${s.values.join(',')}`).join(' ');
}

/** What DescribeInstances is asked: these tags, and only instances that are running (SSM reaches no other). */
export function tagFilters(selectors: readonly TagSelector[]): Array<{ Name: string; Values: string[] }> {
  return [...selectors.map((s) => ({ Name: `tag:${s.key}`, Values: [...s.values] })), { Name: 'instance-state-name', Values: ['running'] }];
}
