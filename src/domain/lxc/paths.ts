import { InputError } from '../errors';

/**
 * The one rule for every path sharemount passes to pct, to the ownership walk or into a log line.
 * Deliberately narrower than POSIX: a comma ends a field of pct's `-mpN <host>,mp=<ct>` property string, `=`
 * starts an option inside it, control characters break config lines, and nothing may look like shell syntax
 * (the seed pasted such values into a root shell). Must agree with `absolutePath` in schema.json (a unit test
 * checks that they do).
 */
const SEGMENT_CHARS = /^[A-Za-z0-9._+@-]+$/;
export const MAX_PATH_LENGTH = 4095;

/** Why `value` is not an acceptable absolute path, or undefined when it is. `what` names it in the message. */
export function pathProblem(value: unknown, what = 'path'): string | undefined {
  if (typeof value !== 'string') return `must be a string (an absolute ${what}), found ${describe(value)}`;
  if (value.length === 0) return `must be an absolute ${what}, found an empty string`;
  if (value.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  const control = /[\x00-\x1f\x7f]/.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(2, '0');
    const name = control[0] === '\n' ? 'a newline' : `a control character (0x${code})`;
    return `contains ${name}; a ${what} must be one line of plain characters`;
  }
  if (!value.startsWith('/')) return `must be absolute (start with /), found ${JSON.stringify(value)}`;
  if (value === '/') return `must not be / itself; name the directory that is shared`;
  if (value.includes(',')) return `contains a comma, which would split pct's "-mpN <host>,mp=<ct>" argument; rename the directory`;
  if (value.includes('=')) return `contains "=", which pct would read as an option of the mount point; rename the directory`;
  if (value.endsWith('/')) return `has a trailing slash; write ${JSON.stringify(value.replace(/\/+$/, '') || '/')}`;
  const segments = value.slice(1).split('/');
  if (segments.includes('')) return `is not normalised: it contains "//"; write ${JSON.stringify(value.replace(/\/{2,}/g, '/'))}`;
  if (segments.includes('..')) return `contains "..", which could point outside the intended directory; write the real absolute path`;
  if (segments.includes('.')) return `is not normalised: it contains "/./"; write it without that segment`;
  const bad = segments.find((segment) => !SEGMENT_CHARS.test(segment));
  if (bad !== undefined) {
    const chars = [...new Set([...bad].filter((c) => !/[A-Za-z0-9._+@-]/.test(c)))].map((c) => JSON.stringify(c));
    return `contains ${chars.join(', ')}; only letters, digits and . _ - + @ are accepted in a path segment`;
  }
  return undefined;
}

/** Throws an InputError naming `field` when `value` is not an acceptable absolute host path. */
export function validateHostPath(field: string, value: unknown): string {
  const problem = pathProblem(value, 'host path');
  if (problem) throw new InputError(field, problem);
  return value as string;
}

/** Same rules for a path inside a container. */
export function validateContainerPath(field: string, value: unknown): string {
  const problem = pathProblem(value, 'container path');
  if (problem) throw new InputError(field, problem);
  return value as string;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
