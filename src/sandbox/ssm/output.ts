/**
 * How a plugin's output is cut before it reaches GetCommandInvocation. The agent cuts each stream with
 * pluginutil.StringPrefix at iohandler.DefaultOutputConfig's MaxStdoutLength (24,000), ending a cut one with
 * `--output truncated--` (runpluginutil.RunPlugins applies MaxStdoutLength to stderr too); the service then
 * returns at most the first 8,000 characters of stderr (GetCommandInvocation's StandardErrorContent).
 */
export const AGENT_OUTPUT_LIMIT = 24000;
export const SERVICE_STDERR_LIMIT = 8000;
export const OUTPUT_TRUNCATED_SUFFIX = '--output truncated--';

/** pluginutil.StringPrefix: lengths are bytes, and an output of exactly the limit is cut too (`<`, not `<=`). */
export function stringPrefix(output: Buffer, maxLength = AGENT_OUTPUT_LIMIT, suffix = OUTPUT_TRUNCATED_SUFFIX): string {
  if (output.length < maxLength) return output.toString('utf8');
  return output.subarray(0, maxLength - Buffer.byteLength(suffix)).toString('utf8') + suffix;
}

/** Keeps what stringPrefix can use of a stream that may be huge: the first limit bytes and whether there were more. */
export class OutputCollector {
  private chunks: Buffer[] = [];
  private size = 0;

  write(chunk: Buffer): void {
    if (this.size >= AGENT_OUTPUT_LIMIT) return;
    const room = AGENT_OUTPUT_LIMIT - this.size;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  agentOutput(): string {
    return stringPrefix(Buffer.concat(this.chunks));
  }
}
