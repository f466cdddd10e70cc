/**
 * Quoting for the few places where a value must travel inside a shell script (SSM Run Command runs
 * scripts, not argv). Every value is validated against a strict pattern first; quoting is the second wall.
 */

/** POSIX single-quote a value: the shell takes everything between single quotes literally. */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a value with a NUL byte cannot be passed to a shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** `NAME='value'` lines, so a script reads its inputs from variables and never splices them into code. */
export function shAssignments(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!VARIABLE_NAME.test(name)) throw new Error(`invalid shell variable name ${JSON.stringify(name)}`);
      return `${name}=${shQuote(String(value))}`;
    })
    .join('\n');
}
