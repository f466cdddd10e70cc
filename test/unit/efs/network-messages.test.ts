import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { InputError } from '../../../src/domain/errors';
import { chooseMountTargetSubnets } from '../../../src/domain/efs';
import { createEfsActivities, plainRuntime } from '../../../src/activities/efs';
import { SSMClient } from '@aws-sdk/client-ssm';

// Bad input is refused before any AWS call, so these clients point nowhere and are never used.
const offline = { region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 };
const activities = createEfsActivities({ efs: new EFSClient(offline), ec2: new EC2Client(offline), ssm: new SSMClient(offline), runtime: plainRuntime });

async function inputErrorOf(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** No command has --subnet, --security-group, --source-cidr or --source-group: a message must not send the operator looking for them. */
describe('EFS network input errors name what exists', () => {
  it('a bad mount target subnet or security group says where it came from', async () => {
    const subnet = await inputErrorOf(
      activities.ensureMountTargets({ fileSystemId: 'fs-0123456789abcdef0', subnetIds: ['nope'], securityGroupId: 'sg-0123456789abcdef0' }),
    );
    expect(subnet.field).toBe('mount target subnet (the subnet of an instance)');
    const group = await inputErrorOf(
      activities.ensureMountTargets({ fileSystemId: 'fs-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupId: 'nope' }),
    );
    expect(group.field).toBe('NFS security group of the mount targets');
  });

  it('a bad NFS source says which kind of source it is', async () => {
    const cidr = await inputErrorOf(
      activities.ensureNfsSecurityGroup({ name: 'sharemount-x-nfs', vpcId: 'vpc-0123456789abcdef0', sourceCidrs: ['10.0.0.0/33'] }),
    );
    expect(cidr.message).toBe('NFS source CIDR block: "10.0.0.0/33" is not an IPv4 CIDR block');
    const group = await inputErrorOf(activities.ensureNfsSecurityGroup({ name: 'sharemount-x-nfs', vpcId: 'vpc-0123456789abcdef0', sourceGroupIds: ['nope'] }));
    expect(group.field).toBe('NFS source security group (a security group of an instance)');
  });

  it('no instances: the message says instances decide the subnets', () => {
    expect(() => chooseMountTargetSubnets([])).toThrow('<instance-id>: name at least one instance: the mount targets go into the subnets of the instances');
  });
});
