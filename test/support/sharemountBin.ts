/**
 * For the operator-experience tests (test/integration/schedule.test.ts, test/ui/*): the CLI as an operator
 * runs it (`node bin/sharemount`) pointed at the suite's dev server, and a simulated Proxmox node
 * (src/sandbox/demo.ts) whose one volume has a name of the test's own.
 *
 * `bin/sharemount` runs dist/, which `npm run build` deletes and rebuilds (other sessions and CI steps build
 * while tests run), so by default each test file gets a private build: the current src/ transpiled once into
 * test-artifacts/ (no type check: tsc does that) next to a copy of bin/sharemount, started exactly the same
 * way. SHAREMOUNT_TEST_CLI=bin runs the repository's own bin/sharemount and dist/ instead.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { buildDemoNode, type DemoNode } from '../../src/sandbox/demo';
import { testServerAddress } from './temporal';

const ROOT = path.resolve(__dirname, '../..');
let privateBin: string | undefined;

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function transpileTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) transpileTree(source, path.join(to, entry.name));
    else if (entry.name.endsWith('.ts')) {
      const { outputText } = ts.transpileModule(fs.readFileSync(source, 'utf8'), {
        fileName: source,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
      });
      fs.writeFileSync(path.join(to, entry.name.replace(/\.ts$/, '.js')), outputText);
    } else fs.copyFileSync(source, path.join(to, entry.name));
  }
}

/** The CLI entry these tests run; builds the private copy on first use (see the header). */
export function sharemountBin(): string {
  if (process.env.SHAREMOUNT_TEST_CLI === 'bin') {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'client.js'))) throw new Error('SHAREMOUNT_TEST_CLI=bin but dist/ is missing: run `npm run build`');
    return path.join(ROOT, 'bin', 'sharemount');
  }
  if (!privateBin) {
    const out = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'sharemount-cli-'));
    transpileTree(path.join(ROOT, 'src'), path.join(out, 'dist'));
    for (const name of fs.readdirSync(ROOT)) if (name.endsWith('.json')) fs.copyFileSync(path.join(ROOT, name), path.join(out, name));
    fs.mkdirSync(path.join(out, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin', 'sharemount'), path.join(out, 'bin', 'sharemount'));
    privateBin = path.join(out, 'bin', 'sharemount');
  }
  return privateBin;
}

/** Removes the private build (call from afterAll). */
export function cleanupSharemountBin(): void {
  if (privateBin) fs.rmSync(path.dirname(path.dirname(privateBin)), { recursive: true, force: true });
  privateBin = undefined;
}

/** Runs `node bin/sharemount <args>` with TEMPORAL_ADDRESS at the test server and NO_COLOR=1. */
export function sharemount(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sharemountBin(), ...args], {
      cwd: ROOT,
      // The private build resolves its dependencies from the repository's node_modules.
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), TEMPORAL_ADDRESS: testServerAddress(), NO_COLOR: '1', ...options.env },
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
