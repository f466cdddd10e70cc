import * as fs from 'node:fs';
import * as path from 'node:path';

const PINNED: string = require('../../temporal-version.json').cli;

/** Where `npm run setup` puts the pinned Temporal CLI (see scripts/setup-temporal.js). */
export function pinnedTemporalPath(): string {
  return path.resolve(__dirname, '..', '..', '.tools', 'temporal', PINNED, 'temporal');
}

/**
 * The Temporal CLI to run the embedded dev server with: SHAREMOUNT_TEMPORAL_BIN when set, else the pinned
 * copy from setup. Fails with the command that fixes it.
 */
export function temporalBinary(): string {
  const named = process.env.SHAREMOUNT_TEMPORAL_BIN;
  if (named) return named;
  const pinned = pinnedTemporalPath();
  if (fs.existsSync(pinned)) return pinned;
  throw new Error(`the Temporal CLI ${PINNED} is not installed at ${pinned}: run \`npm run setup\` (or set SHAREMOUNT_TEMPORAL_BIN)`);
}
