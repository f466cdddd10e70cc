/**
 * An SSM agent for tests: an HTTP proxy in front of moto. Every request goes to moto, so SendCommand gets a
 * real CommandId and moto's bookkeeping; but the script of a SendCommand to an instance registered here
 * really runs, in that instance's sandbox, and GetCommandInvocation for it is answered from the real run:
 * InvocationDoesNotExist for the first polls (the race real SSM has), InProgress while the script runs,
 * then Success or Failed with the script's own exit code and output.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InstanceSandbox, RunResult } from './instanceSandbox';

export interface SentCommand {
  commandId: string;
  instanceId: string;
  script: string;
}

export interface SsmAgentEmulator {
  /** Point the SSM client here. */
  endpoint: string;
  register(instanceId: string, sandbox: InstanceSandbox): void;
  /** Every command the emulator ran, in the order they were sent. */
  sent: SentCommand[];
  stop(): Promise<void>;
}

interface Invocation {
  script: string;
  invisiblePolls: number;
  result?: RunResult;
  done: Promise<void>;
}

/** SSM's own cuts. */
const STDOUT_LIMIT = 24000;
const STDERR_LIMIT = 8000;

export async function startSsmAgentEmulator(options: { motoEndpoint: string; invisiblePolls?: number }): Promise<SsmAgentEmulator> {
  const sandboxes = new Map<string, InstanceSandbox>();
  const invocations = new Map<string, Invocation>();
  const sent: SentCommand[] = [];
  const key = (commandId: string, instanceId: string) => `${commandId}/${instanceId}`;

  async function forward(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || ['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const response = await fetch(`${options.motoEndpoint}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) out[name] = value;
    });
    return { status: response.status, headers: out, body: Buffer.from(await response.arrayBuffer()) };
  }

  function json(res: http.ServerResponse, status: number, payload: unknown, errorType?: string) {
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(body),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(body);
  }

  function startRun(commandId: string, instanceId: string, script: string) {
    const sandbox = sandboxes.get(instanceId)!;
    const invocation: Invocation = { script, invisiblePolls: options.invisiblePolls ?? 2, done: Promise.resolve() };
    invocation.done = sandbox.run(script).then(
      (result) => void (invocation.result = result),
      (error: Error) => void (invocation.result = { code: 1, stdout: '', stderr: `emulator: ${error.message}` }),
    );
    invocations.set(key(commandId, instanceId), invocation);
    sent.push({ commandId, instanceId, script });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target === 'AmazonSSM.GetCommandInvocation') {
      const { CommandId, InstanceId } = JSON.parse(body.toString()) as { CommandId: string; InstanceId: string };
      const invocation = invocations.get(key(CommandId, InstanceId));
      if (invocation) {
        if (invocation.invisiblePolls > 0) {
          invocation.invisiblePolls--;
          return json(res, 400, { __type: 'InvocationDoesNotExist', message: 'An error occurred (InvocationDoesNotExist)' }, 'InvocationDoesNotExist');
        }
        const base = { CommandId, InstanceId, DocumentName: 'AWS-RunShellScript', PluginName: 'aws:runShellScript' };
        const result = invocation.result;
        if (!result)
          return json(res, 200, {
            ...base,
            Status: 'InProgress',
            StatusDetails: 'InProgress',
            ResponseCode: -1,
            StandardOutputContent: '',
            StandardErrorContent: '',
          });
        const status = result.code === 0 ? 'Success' : 'Failed';
        return json(res, 200, {
          ...base,
          Status: status,
          StatusDetails: status,
          ResponseCode: result.code,
          StandardOutputContent: result.stdout.slice(0, STDOUT_LIMIT),
          StandardErrorContent: result.stderr.slice(0, STDERR_LIMIT),
        });
      }
    }
    const answer = await forward(req, body);
    if (target === 'AmazonSSM.SendCommand' && answer.status === 200) {
      const request = JSON.parse(body.toString()) as { InstanceIds?: string[]; Parameters?: { commands?: string[] } };
      const commandId = (JSON.parse(answer.body.toString()) as { Command: { CommandId: string } }).Command.CommandId;
      const script = (request.Parameters?.commands ?? []).join('\n');
      for (const instanceId of request.InstanceIds ?? []) if (sandboxes.has(instanceId)) startRun(commandId, instanceId, script);
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: Error) =>
        json(res, 500, { __type: 'InternalServerError', message: error.message }, 'InternalServerError'),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    register: (instanceId, sandbox) => void sandboxes.set(instanceId, sandbox),
    sent,
    async stop() {
      await Promise.all([...invocations.values()].map((i) => i.done));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
