/**
 * Commander argument parsers for every numeric option, so a bad number is refused while the command line is
 * parsed, before anything connects or starts. `Number('abc')` is NaN and `Number('')`, `Number('0x10')` and
 * `Number('1e3')` are numbers, so the text itself must be digits.
 *
 * The parsers throw InputError rather than commander's InvalidArgumentError: commander does not catch it, so it
 * reaches main() and ends like every other bad input, `error: <flag>: <problem>` and exit 2.
 */
import { Option } from 'commander';
import { validateGid } from '../domain/efs';
import { InputError } from '../domain/errors';
import { packageVersionProblem } from '../domain/lxc/strategy';
import { STRATEGY_SETTINGS } from '../domain/lxc/volume';

const DIGITS = /^[0-9]+$/;

export function wholeNumber(field: string, value: string, min: number, max: number): number {
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new InputError(field, `${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
  return n;
}

function flagOf(option: Option): string {
  if (!option.long) throw new Error(`numeric option ${option.flags} needs a long name to report errors under`);
  return option.long;
}

/** An option taking a whole number in `min`..`max`; its default (if any) is that number, not its text. */
export function integerOption(flags: string, description: string, range: { min: number; max: number; default?: number }): Option {
  const option = new Option(flags, description);
  const field = flagOf(option);
  option.argParser((value: string) => wholeNumber(field, value, range.min, range.max));
  return range.default === undefined ? option : option.default(range.default);
}

export function portOption(flags: string, description: string, defaultPort: number): Option {
  return integerOption(flags, description, { min: 1, max: 65535, default: defaultPort });
}

/** The shared group's GID, by the domain's own rule (the one the generated scripts check again). */
export function gidOption(flags: string, description: string): Option {
  const option = new Option(flags, description);
  const field = flagOf(option);
  return option.argParser((value: string) => validateGid(value, field));
}

/** `--pve-container-version`: names the node's pve-container instead of asking dpkg (tests, unusual hosts). */
export function pveContainerVersionOption(): Option {
  const option = new Option('--pve-container-version <version>', "this node's pve-container version (default: dpkg-query -W pve-container)");
  return option.argParser((value: string) => {
    const problem = packageVersionProblem(value);
    if (problem) throw new InputError('--pve-container-version', problem);
    return value;
  });
}

/** `--strategy`: overrides every volume's `strategy`. */
export function strategyOption(): Option {
  return new Option('--strategy <strategy>', "how volumes are made writable, overriding each volume's strategy (auto: idmap where it can)").choices(
    STRATEGY_SETTINGS,
  );
}
