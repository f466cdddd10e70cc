/**
 * Instances by tag against moto's EC2 (its DescribeInstances applies tag and state filters as EC2 does):
 * running tagged Linux instances are found, stopped, untagged and differently tagged ones are not, and a
 * tagged Windows instance is passed over with the reason.
 */
import { CreateTagsCommand, DescribeImagesCommand, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { parseTagSelectors } from '../../src/domain/efs/tagSelectors';
import { findTaggedInstances } from '../../src/host/aws/taggedInstances';
import { launchInstances, motoClients, MotoServer, startMoto } from '../../src/sandbox/moto';

describe('instances by tag (moto EC2)', () => {
  let moto: MotoServer;
  let clients: ReturnType<typeof motoClients>;

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
  });

  afterAll(async () => {
    await moto?.stop();
  });

  async function tag(ids: string[], tags: Record<string, string>): Promise<void> {
    await clients.ec2.send(new CreateTagsCommand({ Resources: ids, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
  }

  test('running instances with every tag, sorted; stopped, untagged and other values left out', async () => {
    const [a, b, stopped, other, untagged] = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1b', 'us-east-1a', 'us-east-1a', 'us-east-1b']);
    await tag([a, b, stopped], { Project: 'research', team: 'ml' });
    await tag([other], { Project: 'research', team: 'web' });
    expect(untagged).toBeDefined();
    await clients.ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));

    const both = await findTaggedInstances(clients.ec2, parseTagSelectors(['Project=research', 'team=ml']));
    expect(both).toEqual({ instanceIds: [a, b].sort(), passedOver: [] });
    const anyTeam = await findTaggedInstances(clients.ec2, parseTagSelectors(['Project=research', 'team=ml,web']));
    expect(anyTeam.instanceIds).toEqual([a, b, other].sort());
    expect((await findTaggedInstances(clients.ec2, parseTagSelectors(['Project=nothing']))).instanceIds).toEqual([]);
  });

  test('a tagged Windows instance is passed over, saying why', async () => {
    const windows = (await clients.ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images?.find(
      (i) => i.Platform?.toLowerCase() === 'windows',
    )?.ImageId;
    expect(windows).toBeDefined();
    const launched = await clients.ec2.send(new RunInstancesCommand({ ImageId: windows, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
    const windowsId = launched.Instances![0].InstanceId!;
    const [linux] = await launchInstances(clients.ec2, ['us-east-1a']);
    await tag([windowsId, linux], { fleet: 'mixed' });
    expect(await findTaggedInstances(clients.ec2, parseTagSelectors(['fleet=mixed']))).toEqual({
      instanceIds: [linux],
      passedOver: [{ instanceId: windowsId, reason: 'a Windows instance: EFS is mounted on Linux only' }],
    });
  });
});
