import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { testServerAddress } from './temporal';

export const SHAREMOUNT_BIN = path.resolve(__dirname, '../../bin/sharemount');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  timeoutMs?: number;
  /** Another installed copy than this checkout's (the pack test's `npm install -g`). */
  bin?: string;
  /** A command the CLI runs under, as `nsenter … --` to run it on a cluster suite's node. */
  wrapper?: string[];
}

/**
 * Runs the built CLI (`npm run build` makes dist/) as an operator would, against the suite's dev server
 * unless `env` names another TEMPORAL_ADDRESS (the cluster suite's server).
 * Asynchronous on purpose: a worker in the test process must keep polling while the CLI waits.
 */
export function runCli(args: string[], env: Record<string, string> = {}, options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...commandArgs] = [...(options.wrapper ?? []), process.execPath, options.bin ?? SHAREMOUNT_BIN, ...args];
    const child = spawn(command, commandArgs, {
      env: { ...process.env, NO_COLOR: '1', ...env, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? testServerAddress() },
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
