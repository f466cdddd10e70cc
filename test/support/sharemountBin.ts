/**
 * For the operator-experience tests (test/integration/schedule.test.ts, test/ui/*): the built CLI exactly as
 * an operator runs it (`node bin/sharemount`, i.e. dist/ from `npm run build`) pointed at the suite's dev
 * server, and a simulated Proxmox node (src/sandbox/demo.ts) whose one volume has a name of the test's own.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDemoNode, type DemoNode } from '../../src/sandbox/demo';
import { testServerAddress } from './temporal';

const ROOT = path.resolve(__dirname, '../..');
export const SHAREMOUNT_BIN = path.join(ROOT, 'bin', 'sharemount');

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Throws with the fix when dist/ is missing, so a test fails with a reason instead of exit code 2. */
export function requireBuiltCli(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'client.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
}

/** Runs `node bin/sharemount <args>` with TEMPORAL_ADDRESS at the test server and NO_COLOR=1. */
export function sharemount(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHAREMOUNT_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: testServerAddress(), NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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
  if (!fs.existsSync(pctLog)) return [];
  return fs
    .readFileSync(pctLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[])
    .filter((argv) => argv[0] === 'set');
}

export function ownerOf(file: string): string {
  const st = fs.lstatSync(file);
  return `${st.uid}:${st.gid}`;
}
