import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { testServerAddress } from './temporal';

export const SHAREMOUNT_BIN = path.resolve(__dirname, '../../bin/sharemount');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`npm run build` makes dist/) as an operator would, against the suite's dev server.
 * Asynchronous on purpose: a worker in the test process must keep polling while the CLI waits.
 */
export function runCli(args: string[], env: Record<string, string> = {}, options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHAREMOUNT_BIN, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: testServerAddress(), NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A CLI that hangs is killed, so the test fails with what it printed instead of a jest timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
