/**
 * For the operator-experience and safety tests: the CLI as an operator runs it (`node bin/sharemount`)
 * pointed at the suite's dev server, and a simulated Proxmox node (src/sandbox/demo.ts) whose one volume
 * has a name of the test's own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDemoNode, type DemoNode } from '../../src/sandbox/demo';
import { pctCalls } from '../integration/lxc-support';
import { CliResult, runCli } from './cliProcess';

const ROOT = path.resolve(__dirname, '../..');

export type { CliResult as BinResult } from './cliProcess';

/** Runs `node bin/sharemount <args>` (over dist/, which `npm test` builds) against the suite's dev server. */
export async function sharemount(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'client.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  return runCli(args, options.env, { timeoutMs: options.timeoutMs });
}

/** Runs the CLI, expects exit code 0 and JSON on stdout; a failure shows what the CLI said. */
export async function sharemountJson<T>(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<T> {
  const result = await sharemount(args, options);
  if (result.code !== 0) throw new Error(`sharemount ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`sharemount ${args.join(' ')} printed no JSON:\n${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/**
 * buildDemoNode() (CT 950 running with mp0 taken, CT 951 stopped with explicit idmap lines, a volume of 200+
 * files owned nobody:nogroup, the stand-in pct), with the volume renamed to `volumeName` in the Phoenix config
 * so that search-attribute filters find only this test's workflows.
 */
export function demoNodeWithVolume(volumeName: string): DemoNode & { volumeName: string } {
  const node = buildDemoNode();
  const config = JSON.parse(fs.readFileSync(node.configFile, 'utf8')) as { shared_volumes: Record<string, unknown> };
  config.shared_volumes = { [volumeName]: config.shared_volumes.vllm_models };
  fs.writeFileSync(node.configFile, JSON.stringify(config, null, 2));
  return { ...node, volumeName };
}

/** Lines of the stand-in pct's log whose command is `set` (the only one that changes a container). */
export function pctSetCalls(pctLog: string): string[][] {
  return pctCalls(pctLog).filter((argv) => argv[0] === 'set');
}

export function ownerOf(file: string): string {
  const st = fs.lstatSync(file);
  return `${st.uid}:${st.gid}`;
}
