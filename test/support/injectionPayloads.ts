/**
 * The injection corpus (test/fixtures/injection/payloads.json): each payload would create the marker file if
 * it ever reached a shell.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const CORPUS = path.resolve(__dirname, '../fixtures/injection/payloads.json');

export function injectionPayloads(marker: string): string[] {
  const { payloads } = JSON.parse(fs.readFileSync(CORPUS, 'utf8')) as { payloads: string[] };
  return payloads.map((payload) => payload.replaceAll('{M}', marker));
}
