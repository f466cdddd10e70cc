import { main } from '../../src/cli/program';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

let busy = false;

/**
 * Runs the CLI's own `main` in this process, with its output captured: the same code path as
 * `bin/sharemount`, without a Node start per call, for corpora of hundreds of inputs. One call at a time,
 * since it borrows process.env and the output streams.
 */
export async function runCliInProcess(args: string[], env: Record<string, string> = {}): Promise<InProcessResult> {
  if (busy) throw new Error('runCliInProcess runs one call at a time');
  busy = true;
  const savedEnv = { ...process.env };
  const writes = { out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  Object.assign(process.env, { NO_COLOR: '1' }, env);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'sharemount', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    process.env = savedEnv;
    // main() leaves the command's exit code here; it must not become jest's.
    process.exitCode = undefined;
    busy = false;
  }
}
