/**
 * End to end, as a new user met it: `efs create` over two instances in two VPCs, through the built CLI, the
 * suite's dev server, a worker with the real activities and moto. It used to wait until killed (the workflow
 * task failed and was retried for ever); now it ends at once, saying which instance is in which VPC.
 */
import { CreateSubnetCommand, CreateVpcCommand, DescribeVpcsCommand, DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { createActivities } from '../../src/activities';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';
import { runCli } from '../support/cliProcess';
import { uniqueTaskQueue, withWorker } from '../support/temporal';
import { uniqueName } from './stubs';

describe('efs create over two VPCs', () => {
  let moto: MotoServer;
  let clients: ReturnType<typeof motoClients>;

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  test('ends at once with exit 1 or 2 and a message naming both VPCs', async () => {
    const [inDefault] = await launchInstances(clients.ec2, ['us-east-1a']);
    const defaultVpc = (await clients.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs![0].VpcId!;
    const otherVpc = (await clients.ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc!.VpcId!;
    const subnet = (await clients.ec2.send(new CreateSubnetCommand({ VpcId: otherVpc, CidrBlock: '10.42.1.0/24', AvailabilityZone: 'us-east-1b' }))).Subnet!
      .SubnetId!;
    const image = (await clients.ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0].ImageId!;
    const inOther = (await clients.ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId: subnet })))
      .Instances![0].InstanceId!;

    const taskQueue = uniqueTaskQueue('two-vpcs');
    const activities = createActivities({ awsIdentity: async () => ({}), ...clients, pollIntervalMs: 200 });
    const started = Date.now();
    const result = await withWorker({ taskQueue, activities }, () =>
      runCli(
        ['efs', 'create', uniqueName('twovpc'), '--instance', inDefault, '--instance', inOther],
        { SHAREMOUNT_TASK_QUEUE: taskQueue },
        { timeoutMs: 60_000 },
      ),
    );
    expect([1, 2]).toContain(result.code);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.stderr).toContain(`${defaultVpc}: ${inDefault}`);
    expect(result.stderr).toContain(`${otherVpc}: ${inOther}`);
    expect(result.stderr).toContain('one file system serves one VPC');
  });
});
