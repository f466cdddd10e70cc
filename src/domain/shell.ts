/**
 * Quoting for the few places where a value must travel inside a shell script (SSM Run Command runs
 * scripts, not argv). Every value is validated against a strict pattern first; quoting is the second wall.
 */

export type ShellValues = Record<string, string | number>;

/** POSIX single-quote a value: the shell takes everything between single quotes literally. */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a value with a NUL byte cannot be passed to a shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * shellcheck's SC2016 asks whether `$` or a backtick in single quotes was meant to expand; in an assignment
 * of a value it never is, so the question is answered for that one line (a directive covers the next command).
 */
const LITERAL_ON_PURPOSE = '# shellcheck disable=SC2016 # a value: it must not expand';

/** `NAME='value'` lines, so a script reads its inputs from variables and never splices them into code. */
export function shAssignments(values: ShellValues): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!VARIABLE_NAME.test(name)) throw new Error(`invalid shell variable name ${JSON.stringify(name)}`);
      const text = String(value);
      const assignment = `${name}=${shQuote(text)}`;
      return /[$`]/.test(text) ? `${LITERAL_ON_PURPOSE}\n${assignment}` : assignment;
    })
    .join('\n');
}
