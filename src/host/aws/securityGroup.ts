import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  IpPermission,
  SecurityGroup,
} from '@aws-sdk/client-ec2';
import { InputError } from '../../domain/errors';
import { validateIpv4Cidr, validateSecurityGroupId, validateVpcId } from '../../domain/efs/names';
import { AwsCallError, isAwsError } from './errors';

const NFS_PORT = 2049;
const SECURITY_GROUP_NAME = /^[A-Za-z0-9._-]{1,255}$/;

export interface EnsureNfsSecurityGroupInput {
  /** The group's name, unique in the VPC (e.g. sharemount-<volume>-nfs). */
  name: string;
  vpcId: string;
  /** Sources allowed to reach TCP 2049. Neither given: the VPC's own CIDR blocks. */
  sourceCidrs?: string[];
  sourceGroupIds?: string[];
  tags?: Record<string, string>;
}

export interface EnsureNfsSecurityGroupResult {
  securityGroupId: string;
  created: boolean;
  /** The sources this call admitted, e.g. "10.0.0.0/16" or "sg-0abc"; empty when all were already there. */
  rulesAdded: string[];
}

/** One source admitted to NFS: a CIDR block or a security group. */
type NfsSource = { cidr: string; groupId?: undefined } | { groupId: string; cidr?: undefined };

function coversNfs(permission: IpPermission): boolean {
  if (permission.IpProtocol === '-1') return true;
  if (permission.IpProtocol !== 'tcp' && permission.IpProtocol !== '6') return false;
  return (permission.FromPort ?? 0) <= NFS_PORT && NFS_PORT <= (permission.ToPort ?? 65535);
}

function nfsRule(source: NfsSource): IpPermission {
  return {
    IpProtocol: 'tcp',
    FromPort: NFS_PORT,
    ToPort: NFS_PORT,
    ...(source.cidr ? { IpRanges: [{ CidrIp: source.cidr, Description: 'NFS for sharemount' }] } : {}),
    ...(source.groupId ? { UserIdGroupPairs: [{ GroupId: source.groupId, Description: 'NFS for sharemount' }] } : {}),
  };
}

function validateGroupName(name: string): string {
  if (!SECURITY_GROUP_NAME.test(name) || name.startsWith('sg-')) {
    throw new InputError('security group name', `${JSON.stringify(name)} is not a usable security group name`);
  }
  return name;
}

/** The VPC's own CIDR blocks: who may reach NFS when the caller names no source. */
async function vpcCidrs(ec2: EC2Client, vpcId: string): Promise<string[]> {
  try {
    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0];
    const associated = (vpc?.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock!).filter(Boolean);
    return associated.length === 0 && vpc?.CidrBlock ? [vpc.CidrBlock] : associated;
  } catch (error) {
    throw AwsCallError.from(`describe VPC ${vpcId}`, error);
  }
}

async function nfsSources(ec2: EC2Client, input: EnsureNfsSecurityGroupInput, vpcId: string): Promise<NfsSource[]> {
  const cidrs = (input.sourceCidrs ?? []).map((c) => validateIpv4Cidr(c, 'NFS source CIDR block'));
  const groupIds = (input.sourceGroupIds ?? []).map((g) => validateSecurityGroupId(g, 'NFS source security group (a security group of an instance)'));
  const sources: NfsSource[] = [...cidrs.map((cidr) => ({ cidr })), ...groupIds.map((groupId) => ({ groupId }))];
  return sources.length > 0 ? sources : (await vpcCidrs(ec2, vpcId)).map((cidr) => ({ cidr }));
}

async function findGroup(ec2: EC2Client, name: string, vpcId: string): Promise<SecurityGroup | undefined> {
  try {
    const answer = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'group-name', Values: [name] },
          { Name: 'vpc-id', Values: [vpcId] },
        ],
      }),
    );
    return answer.SecurityGroups?.[0];
  } catch (error) {
    throw AwsCallError.from(`look up security group ${name} in ${vpcId}`, error);
  }
}

/** Security groups have no idempotency token: look first; InvalidGroup.Duplicate means a concurrent attempt won. */
async function findOrCreateGroup(
  ec2: EC2Client,
  name: string,
  vpcId: string,
  tags: Record<string, string> = {},
): Promise<{ group: SecurityGroup; created: boolean }> {
  const existing = await findGroup(ec2, name, vpcId);
  if (existing) return { group: existing, created: false };
  let created = false;
  try {
    await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: `sharemount: NFS (TCP ${NFS_PORT}) to EFS mount targets`,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: Object.entries({ ...tags, Name: name }).map(([Key, Value]) => ({ Key, Value })) }],
      }),
    );
    created = true;
  } catch (error) {
    if (!isAwsError(error, 'InvalidGroup.Duplicate')) throw AwsCallError.from(`create security group ${name}`, error);
  }
  const group = await findGroup(ec2, name, vpcId);
  if (!group) throw new AwsCallError(`find security group ${name}`, 'DependencyTimeout', 'created but not visible yet');
  return { group, created };
}

/** The sources the group's rules do not admit to TCP 2049 yet. */
function missingSources(group: SecurityGroup, sources: NfsSource[]): NfsSource[] {
  const rules = (group.IpPermissions ?? []).filter(coversNfs);
  const admits = (source: NfsSource) =>
    rules.some((r) =>
      source.cidr !== undefined
        ? (r.IpRanges ?? []).some((range) => range.CidrIp === source.cidr)
        : (r.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === source.groupId),
    );
  return sources.filter((source) => !admits(source));
}

/** Admits one source; a rule that is already there (a concurrent attempt added it) is not an error. */
async function admit(ec2: EC2Client, groupId: string, source: NfsSource): Promise<boolean> {
  try {
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [nfsRule(source)] }));
    return true;
  } catch (error) {
    if (isAwsError(error, 'InvalidPermission.Duplicate')) return false;
    throw AwsCallError.from(`admit NFS from ${source.cidr ?? source.groupId}`, error);
  }
}

/** Finds the group by name in the VPC, or creates it; then admits every missing source on TCP 2049. */
export async function ensureNfsSecurityGroup(ec2: EC2Client, input: EnsureNfsSecurityGroupInput): Promise<EnsureNfsSecurityGroupResult> {
  const name = validateGroupName(input.name);
  const vpcId = validateVpcId(input.vpcId);
  const sources = await nfsSources(ec2, input, vpcId);
  const { group, created } = await findOrCreateGroup(ec2, name, vpcId, input.tags);
  const rulesAdded: string[] = [];
  for (const source of missingSources(group, sources)) {
    if (await admit(ec2, group.GroupId!, source)) rulesAdded.push(source.cidr ?? source.groupId!);
  }
  return { securityGroupId: group.GroupId!, created, rulesAdded };
}
