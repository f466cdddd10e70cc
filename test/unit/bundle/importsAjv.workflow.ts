// A workflow that pulls the schema validator in through the config loader, as src/workflows/lxc.ts once did.
import { parseLxcConfig } from '../../../src/domain/lxc/config';

export async function loadsConfig(text: string): Promise<number> {
  return parseLxcConfig(text).volumes.length;
}
