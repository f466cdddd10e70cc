// util is one of the built-ins the SDK lets through to an npm stand-in; workflow code needs none of them.
import { inspect } from 'node:util';

export async function describes(value: unknown): Promise<string> {
  return inspect(value);
}
