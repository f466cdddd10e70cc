/**
 * The file system policy that refuses every mount not made through an access point, as statements
 * sharemount owns inside whatever policy the file system already has: ours are recognised by their Sid, so
 * adding replaces only them and removing leaves the operator's own statements as they were.
 */
import { InputError } from '../errors';

const FILE_SYSTEM_ARN = /^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:[0-9]{12}:file-system\/fs-[0-9a-f]{8,40}$/;

export const POLICY_SID_PREFIX = 'SharemountAccessPointsOnly';

export interface PolicyStatement {
  Sid?: string;
  [key: string]: unknown;
}

export interface FileSystemPolicy {
  Version: string;
  Id?: string;
  Statement: PolicyStatement[];
}

const CLIENT_ACTIONS = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'];

/**
 * Two statements: mounts through an access point are allowed (a file system policy that allows nothing
 * refuses every client), and any mount without one is denied, which wins over an allow elsewhere in the
 * policy. `elasticfilesystem:AccessPointArn` is absent exactly when the client mounted without an access point.
 */
export function accessPointOnlyStatements(fileSystemArn: string): PolicyStatement[] {
  if (!FILE_SYSTEM_ARN.test(fileSystemArn)) throw new InputError('file system ARN', `${JSON.stringify(fileSystemArn)} is not an EFS file system ARN`);
  return [
    {
      Sid: `${POLICY_SID_PREFIX}Allow`,
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      Resource: fileSystemArn,
      Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'false' } },
    },
    {
      Sid: `${POLICY_SID_PREFIX}Deny`,
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: CLIENT_ACTIONS,
      Resource: fileSystemArn,
      Condition: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
    },
  ];
}

const ours = (statement: PolicyStatement) => typeof statement.Sid === 'string' && statement.Sid.startsWith(POLICY_SID_PREFIX);

/** Parses a policy EFS returned; a policy sharemount cannot read is left alone by the caller, never overwritten. */
export function parsePolicy(text: string): FileSystemPolicy {
  const parsed = JSON.parse(text) as Partial<FileSystemPolicy> & { Statement?: PolicyStatement | PolicyStatement[] };
  const statements = parsed.Statement === undefined ? [] : Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  return { ...parsed, Version: parsed.Version ?? '2012-10-17', Statement: statements };
}

/** The existing policy (or none) with sharemount's statements in it, replacing any earlier version of them. */
export function withAccessPointOnly(existing: FileSystemPolicy | undefined, fileSystemArn: string): FileSystemPolicy {
  const kept = (existing?.Statement ?? []).filter((s) => !ours(s));
  return { ...(existing ?? { Version: '2012-10-17' }), Statement: [...kept, ...accessPointOnlyStatements(fileSystemArn)] };
}

/** The existing policy without sharemount's statements; undefined when nothing else was in it (delete it). */
export function withoutAccessPointOnly(existing: FileSystemPolicy): FileSystemPolicy | undefined {
  const kept = existing.Statement.filter((s) => !ours(s));
  return kept.length === 0 ? undefined : { ...existing, Statement: kept };
}

/** Whether two policies say the same, so an unchanged policy is not put again. */
export function samePolicy(a: FileSystemPolicy | undefined, b: FileSystemPolicy | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
