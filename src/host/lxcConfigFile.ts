import * as fs from 'node:fs';
import { InputError } from '../domain/errors';
import { parseLxcConfig, type LxcConfig } from '../domain/lxc/config';

/** Config files are small; a huge one is a mistake (or an attack) and is refused before it is parsed. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads and validates a Phoenix config; every problem is an InputError naming the field. */
export function readLxcConfigFile(file: string, volume?: string): LxcConfig {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw new InputError('--config', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!stat.isFile()) throw new InputError('--config', `${file} is not a regular file`);
  if (stat.size > MAX_CONFIG_BYTES) throw new InputError('--config', `${file} is ${stat.size} bytes; a config is at most ${MAX_CONFIG_BYTES} bytes`);
  return parseLxcConfig(fs.readFileSync(file, 'utf8'), { volume });
}
