/**
 * moto in server mode, started per test file on a free 127.0.0.1 port: real AWS wire protocols over HTTP for
 * EFS, EC2 and SSM (moto marks every SSM command Success without running it; see ssmAgentEmulator.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`moto_server exited at start: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
}

export function motoClients(endpoint: string, ssmEndpoint = endpoint) {
  const config = { endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS };
  return {
    efs: new EFSClient(config),
    ec2: new EC2Client(config),
    ssm: new SSMClient({ ...config, endpoint: ssmEndpoint }),
  };
}

/**
 * Launches instances in moto's default VPC, one per given availability zone (moto has a default subnet in
 * each), from a Linux AMI moto knows, so instance, subnet and VPC ids are realistic.
 */
export async function launchInstances(ec2: EC2Client, zones: string[]): Promise<string[]> {
  const { DescribeImagesCommand, DescribeSubnetsCommand, RunInstancesCommand } = await import('@aws-sdk/client-ec2');
  // A Linux AMI, as the instances sharemount serves are: EC2 sets Platform only on Windows images.
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images?.find((i) => !i.Platform)?.ImageId;
  if (!image) throw new Error('moto knows no Linux AMI');
  const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? [];
  const ids: string[] = [];
  for (const zone of zones) {
    const subnet = subnets.find((s) => s.AvailabilityZone === zone);
    if (!subnet) throw new Error(`moto has no default subnet in ${zone}`);
    const answer = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: subnet.SubnetId }));
    ids.push(answer.Instances![0].InstanceId!);
  }
  return ids;
}
