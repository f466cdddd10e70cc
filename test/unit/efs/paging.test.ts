import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeMountTargetsCommand, EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createEfsActivities, plainRuntime } from '../../../src/activities/efs';

// moto answers these calls in one page for any fleet a test can afford, so the second page is mocked.
describe('EFS activities read every page (mocked AWS: moto never pages these)', () => {
  const efsMock = mockClient(EFSClient);
  const ec2Mock = mockClient(EC2Client);
  afterAll(() => {
    efsMock.restore();
    ec2Mock.restore();
  });
  const activities = createEfsActivities({
    efs: new EFSClient({ region: 'us-east-1' }),
    ec2: new EC2Client({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
    runtime: plainRuntime,
  });

  it('mount targets on a second page (NextMarker) are seen', async () => {
    const target = (id: string, zone: string) => ({
      MountTargetId: id,
      SubnetId: `subnet-${id}`,
      AvailabilityZoneName: zone,
      LifeCycleState: 'available' as const,
      FileSystemId: 'fs-0123456789abcdef0',
      OwnerId: '1',
      IpAddress: '10.0.0.1',
    });
    efsMock
      .on(DescribeMountTargetsCommand, { FileSystemId: 'fs-0123456789abcdef0', Marker: undefined })
      .resolves({ MountTargets: [target('fsmt-1', 'us-east-1a')], NextMarker: 'page2' })
      .on(DescribeMountTargetsCommand, { FileSystemId: 'fs-0123456789abcdef0', Marker: 'page2' })
      .resolves({ MountTargets: [target('fsmt-2', 'us-east-1b')] });
    const targets = await activities.awaitMountTargetsAvailable({ fileSystemId: 'fs-0123456789abcdef0' });
    expect(targets.map((t) => t.mountTargetId)).toEqual(['fsmt-1', 'fsmt-2']);
  });

  it('instances on a second page (NextToken) are found, not reported unknown', async () => {
    const instance = (id: string) => ({
      InstanceId: id,
      SubnetId: 'subnet-0123456789abcdef0',
      VpcId: 'vpc-0123456789abcdef0',
      Placement: { AvailabilityZone: 'us-east-1a' },
      SecurityGroups: [],
    });
    ec2Mock
      .on(DescribeInstancesCommand, { NextToken: undefined })
      .resolves({ Reservations: [{ Instances: [instance('i-0000000000000000a')] }], NextToken: 'page2' })
      .on(DescribeInstancesCommand, { NextToken: 'page2' })
      .resolves({ Reservations: [{ Instances: [instance('i-0000000000000000b')] }] });
    const { found, unknown } = await activities.locateInstances({ instanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] });
    expect(found.map((n) => n.instanceId)).toEqual(['i-0000000000000000a', 'i-0000000000000000b']);
    expect(unknown).toEqual([]);
  });
});
