/**
 * An SSM agent (and the parts of Systems Manager moto lacks) for tests: an HTTP proxy in front of moto. Every
 * other request goes to moto, so SendCommand gets a real CommandId and moto's bookkeeping; a command sent to
 * an instance registered here is delivered to that instance's sandbox and run as the agent runs it
 * (src/sandbox/ssm/), and GetCommandInvocation, ListCommandInvocations, CancelCommand and
 * DescribeInstanceInformation for it are answered from that run.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InstanceSandbox } from './instanceSandbox';
import { configurePackage, type DistributorAccess } from './ssm/configurePackage';
import { awsError, forward, json } from './ssm/http';
import { describeInstanceInformation, osRelease, type ManagedNode, type PingStatus, type PlatformType } from './ssm/instanceInformation';
import { invocationView, listedInvocationView, type Invocation } from './ssm/invocation';
import { cancelFlag, type PluginResult } from './ssm/plugin';
import { runShellScript } from './ssm/runShellScript';

export interface SentCommand {
  commandId: string;
  instanceId: string;
  documentName: string;
  /** The AWS-RunShellScript commands, joined; empty for other documents. */
  script: string;
}

export interface RegisterOptions {
  /** What DescribeInstanceInformation says the instance runs. Default Linux. */
  platformType?: PlatformType;
  /** How the instance reaches Distributor packages. Default reachable. */
  distributor?: DistributorAccess;
}

export interface SsmAgentEmulator {
  /** Point the SSM client here. */
  endpoint: string;
  register(instanceId: string, sandbox: InstanceSandbox, options?: RegisterOptions): void;
  /** The instance stops: its agent goes ConnectionLost and a command sent to it stays Pending until DeliveryTimedOut. */
  stopInstance(instanceId: string): void;
  /** The instance runs again: its agent is Online and takes the commands still Pending. */
  startInstance(instanceId: string): void;
  /** The instance's sandbox now: after a 194 reboot, the rebooted one. */
  sandboxOf(instanceId: string): InstanceSandbox | undefined;
  /** Every command the emulator delivered, in the order they were sent. */
  sent: SentCommand[];
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  motoEndpoint: string;
  /** InvocationDoesNotExist answers right after SendCommand (the race real SSM has). Default 2. */
  invisiblePolls?: number;
  /** How long the agent takes to pick a command up from the service. Default 50 ms. */
  deliveryDelayMs?: number;
  /** Milliseconds per second of every timeout: 1000 is real time; tests may shorten the waits, never the rules. */
  msPerSecond?: number;
  region?: string;
}

/** A command that keeps asking for a reboot is stopped after this many (a guard of the emulator, not the agent's). */
const MAX_REBOOTS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startSsmAgentEmulator(options: EmulatorOptions): Promise<SsmAgentEmulator> {
  const nodes = new Map<string, ManagedNode & { distributor: DistributorAccess }>();
  const invocations = new Map<string, Invocation>();
  const rebooted: InstanceSandbox[] = [];
  const sent: SentCommand[] = [];
  const msPerSecond = options.msPerSecond ?? 1000;
  const region = options.region ?? 'us-east-1';
  const key = (commandId: string, instanceId: string) => `${commandId}/${instanceId}`;

  /** The service holds the command until the agent asks for it; past TimeoutSeconds it is never delivered. */
  async function awaitDelivery(invocation: Invocation): Promise<boolean> {
    const deadline = invocation.requestedAt.getTime() + invocation.deliveryTimeoutSeconds * msPerSecond;
    await sleep(options.deliveryDelayMs ?? 50);
    for (;;) {
      if (invocation.cancel.cancelled) return ((invocation.state = 'CancelledBeforeDelivery'), false);
      if (nodes.get(invocation.instanceId)?.pingStatus === 'Online') return true;
      if (Date.now() >= deadline) return ((invocation.state = 'DeliveryTimedOut'), false);
      await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
    }
  }

  function runPlugin(invocation: Invocation, node: ManagedNode & { distributor: DistributorAccess }, platform: { name: string; version: string }) {
    if (invocation.documentName === 'AWS-ConfigureAWSPackage') {
      return configurePackage(node.sandbox, { instanceId: invocation.instanceId, region, parameters: invocation.parameters, access: node.distributor });
    }
    return runShellScript(
      node.sandbox,
      {
        instanceId: invocation.instanceId,
        commandId: invocation.commandId,
        region,
        commands: invocation.parameters.commands ?? [],
        executionTimeout: invocation.parameters.executionTimeout?.[0],
        msPerSecond,
        platform,
      },
      invocation.cancel,
    );
  }

  async function deliverAndRun(invocation: Invocation): Promise<void> {
    if (!(await awaitDelivery(invocation))) return void (invocation.endedAt = new Date());
    const node = nodes.get(invocation.instanceId)!;
    invocation.state = 'InProgress';
    invocation.startedAt = new Date();
    let result: PluginResult;
    for (;;) {
      try {
        result = await runPlugin(invocation, node, await osRelease(node.sandbox));
      } catch (error) {
        result = { status: 'Failed', code: 1, stdout: '', stderr: `emulator: ${(error as Error).message}` };
      }
      if (result.status !== 'SuccessAndReboot') break;
      // 194: the agent reboots the instance and, once it is back, runs the same plugin again.
      if (++invocation.reboots > MAX_REBOOTS) {
        result = { ...result, status: 'Failed', stderr: `${result.stderr}emulator: the script asked for a reboot ${MAX_REBOOTS} times (an emulator guard)` };
        break;
      }
      node.sandbox = await node.sandbox.reboot();
      rebooted.push(node.sandbox);
    }
    invocation.result = result;
    invocation.state = 'Finished';
    invocation.endedAt = new Date();
  }

  function startInvocation(request: SendCommandRequest, commandId: string, instanceId: string) {
    const documentName = request.DocumentName ?? 'AWS-RunShellScript';
    const parameters = request.Parameters ?? {};
    const invocation: Invocation = {
      commandId,
      instanceId,
      documentName,
      comment: request.Comment ?? '',
      parameters,
      // SendCommand's TimeoutSeconds; the service's default is 3600.
      deliveryTimeoutSeconds: request.TimeoutSeconds ?? 3600,
      requestedAt: new Date(),
      invisiblePolls: options.invisiblePolls ?? 2,
      state: 'Pending',
      reboots: 0,
      cancel: cancelFlag(),
      done: Promise.resolve(),
    };
    invocation.done = deliverAndRun(invocation);
    invocations.set(key(commandId, instanceId), invocation);
    sent.push({ commandId, instanceId, documentName, script: documentName === 'AWS-RunShellScript' ? (parameters.commands ?? []).join('\n') : '' });
  }

  function ours(instanceIds: readonly string[] | undefined): Invocation[] {
    return [...invocations.values()].filter((i) => !instanceIds || instanceIds.includes(i.instanceId));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    const target = String(req.headers['x-amz-target'] ?? '');
    // Only SSM speaks JSON here; EC2 and EFS requests (query and REST) pass through to moto untouched.
    const request = target.startsWith('AmazonSSM.') && body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
    if (target === 'AmazonSSM.GetCommandInvocation') {
      const invocation = invocations.get(key(String(request.CommandId), String(request.InstanceId)));
      if (invocation) {
        if (invocation.invisiblePolls > 0) {
          invocation.invisiblePolls--;
          return awsError(res, 400, 'InvocationDoesNotExist', 'An error occurred (InvocationDoesNotExist)');
        }
        return json(res, 200, invocationView(invocation));
      }
    }
    if (target === 'AmazonSSM.ListCommandInvocations') {
      const listed = ours(request.InstanceId ? [String(request.InstanceId)] : undefined).filter((i) => !request.CommandId || i.commandId === request.CommandId);
      return json(res, 200, { CommandInvocations: listed.map((i) => listedInvocationView(i, request.Details === true)) });
    }
    if (target === 'AmazonSSM.CancelCommand') {
      const cancelled = ours(request.InstanceIds as string[] | undefined).filter((i) => i.commandId === request.CommandId);
      if (cancelled.length === 0) return awsError(res, 400, 'InvalidCommandId', `no command ${String(request.CommandId)}`);
      cancelled.forEach((i) => i.cancel.cancel());
      return json(res, 200, {});
    }
    if (target === 'AmazonSSM.DescribeInstanceInformation') {
      return json(res, 200, await describeInstanceInformation([...nodes.values()], request));
    }
    const answer = await forward(options.motoEndpoint, req, body);
    if (target === 'AmazonSSM.SendCommand' && answer.status === 200) {
      const { Command } = JSON.parse(answer.body.toString()) as { Command: { CommandId: string; InstanceIds?: string[] } };
      for (const instanceId of targetedInstances(request as SendCommandRequest, Command.InstanceIds))
        if (nodes.has(instanceId)) startInvocation(request, Command.CommandId, instanceId);
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: Error) => awsError(res, 500, 'InternalServerError', error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const setPing = (instanceId: string, pingStatus: PingStatus) => {
    const node = nodes.get(instanceId);
    if (!node) throw new Error(`emulator: ${instanceId} is not registered`);
    Object.assign(node, { pingStatus, lastPing: new Date() });
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    register: (instanceId, sandbox, registerOptions = {}) =>
      void nodes.set(instanceId, {
        instanceId,
        sandbox,
        platformType: registerOptions.platformType ?? 'Linux',
        pingStatus: 'Online',
        lastPing: new Date(),
        distributor: registerOptions.distributor ?? 'reachable',
      }),
    stopInstance: (instanceId) => setPing(instanceId, 'ConnectionLost'),
    startInstance: (instanceId) => setPing(instanceId, 'Online'),
    sandboxOf: (instanceId) => nodes.get(instanceId)?.sandbox,
    sent,
    async stop() {
      for (const invocation of invocations.values()) invocation.cancel.cancel();
      await Promise.all([...invocations.values()].map((i) => i.done));
      for (const sandbox of rebooted) await sandbox.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Who a SendCommand reaches: its InstanceIds, or for Targets (`tag:<key>` or `InstanceIds`) the instances
 * the service resolves them to. Systems Manager resolves targets itself, not the agent (SendCommand's Targets in
 * the API reference: the nodes with those tags); moto does the same against its EC2 tags and answers the
 * resolved IDs in Command.InstanceIds, so those are the ones this agent runs on, instead of moto's bare Success.
 */
function targetedInstances(request: SendCommandRequest, resolvedByService: readonly string[] | undefined): string[] {
  if (!request.Targets?.length) return request.InstanceIds ?? [];
  return [...new Set([...(request.InstanceIds ?? []), ...(resolvedByService ?? [])])];
}

interface SendCommandRequest {
  Targets?: Array<{ Key?: string; Values?: string[] }>;
  InstanceIds?: string[];
  DocumentName?: string;
  Comment?: string;
  TimeoutSeconds?: number;
  Parameters?: Record<string, string[]>;
}
