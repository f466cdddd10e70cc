/**
 * A fault-injecting HTTP proxy for AWS endpoints (tests only): every request goes to `upstream` (moto, or the
 * SSM agent emulator in front of it) unless a rule answers it first with an AWS-shaped error, real HTTP
 * status and `x-amzn-errortype` header, as the SDK would see from AWS: throttling, 5xx, InvocationDoesNotExist,
 * an instance SSM does not manage, access denied. Counts what it saw and what it injected.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from '../../src/sandbox/ssm/http';

export interface AwsRequest {
  /** `AmazonSSM.SendCommand` for JSON protocols; `EFS <METHOD> <path>` for EFS' REST API; `EC2 <Action>`. */
  operation: string;
  /** The instance a SendCommand / GetCommandInvocation is for (InstanceIds[0] / InstanceId). */
  instanceId?: string;
  body: string;
}

export interface Fault {
  status: number;
  errorType: string;
  message: string;
}

/** A rule returns a fault to inject, or undefined to let the request through. */
export type FaultRule = (request: AwsRequest, seen: number) => Fault | undefined;

export interface FaultProxy {
  endpoint: string;
  /** Requests seen per `operation instanceId`. */
  seen: Map<string, number>;
  /** Faults injected per `operation instanceId errorType`. */
  injected: Map<string, number>;
  stop(): Promise<void>;
}

export const faults = {
  throttling: (): Fault => ({ status: 400, errorType: 'ThrottlingException', message: 'Rate exceeded' }),
  efsThrottling: (): Fault => ({ status: 429, errorType: 'ThrottlingException', message: 'Rate exceeded' }),
  internal: (): Fault => ({ status: 500, errorType: 'InternalServerError', message: 'An internal error occurred (injected)' }),
  unavailable: (): Fault => ({ status: 503, errorType: 'ServiceUnavailable', message: 'Service Unavailable (injected)' }),
  invocationDoesNotExist: (): Fault => ({ status: 400, errorType: 'InvocationDoesNotExist', message: 'An error occurred (InvocationDoesNotExist)' }),
  /** What SSM answers for an instance that runs no registered SSM agent. */
  invalidInstanceId: (instanceId: string): Fault => ({
    status: 400,
    errorType: 'InvalidInstanceId',
    message: `Instances [[${instanceId}]] not in a valid state for account 123456789012`,
  }),
  accessDenied: (instanceId: string): Fault => ({
    status: 400,
    errorType: 'AccessDeniedException',
    message: `User: arn:aws:iam::123456789012:user/sharemount is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:us-east-1:123456789012:instance/${instanceId} because no identity-based policy allows the ssm:SendCommand action`,
  }),
};

function describeRequest(req: http.IncomingMessage, body: string): AwsRequest {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    let instanceId: string | undefined;
    try {
      const json = JSON.parse(body) as { InstanceId?: string; InstanceIds?: string[] };
      instanceId = json.InstanceId ?? json.InstanceIds?.[0];
    } catch {
      // not JSON
    }
    return { operation: target, instanceId, body };
  }
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  if (action) return { operation: `EC2 ${action}`, body };
  return { operation: `EFS ${req.method} ${(req.url ?? '').split('?')[0]}`, body };
}

export async function startFaultProxy(upstream: string, rule: FaultRule): Promise<FaultProxy> {
  const seen = new Map<string, number>();
  const injected = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1).get(key)!;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    const request = describeRequest(req, raw.toString());
    const key = `${request.operation} ${request.instanceId ?? ''}`.trim();
    const count = bump(seen, key);
    const fault = rule(request, count);
    if (fault) {
      bump(injected, `${key} ${fault.errorType}`);
      const body = JSON.stringify({ __type: fault.errorType, message: fault.message, ErrorCode: fault.errorType, Message: fault.message });
      res.writeHead(fault.status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(body),
        'x-amzn-errortype': fault.errorType,
        'x-amzn-requestid': 'fault-proxy',
      });
      res.end(body);
      return;
    }
    const answer = await forward(upstream, req, raw);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: Error) => {
        res.writeHead(502);
        res.end(error.message);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    injected,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
