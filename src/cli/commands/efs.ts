import { Command } from 'commander';
import { InputError } from '../../domain/errors';
import {
  chooseInstallRoute,
  collisionInWords,
  installRouteInWords,
  planEfsMount,
  planEfsUnmount,
  resolveEfsSettings,
  validateInstanceIds,
  validateSubnetIds,
  validateVolumeName,
  type EfsMountRequest,
  type EfsPlan,
} from '../../domain/efs';
import { fleetInWords, validateFleetSelection } from '../../domain/efs/fleet';
import { describeTagSelectors, parseTagSelectors, type TagSelector } from '../../domain/efs/tagSelectors';
import { generalTaskQueue } from '../../temporal/connection';
import { efsRunWorkflowId } from '../../domain/workflowIds';
import { efsCreateWorkflow, efsMountWorkflow, efsUnmountWorkflow, type EfsRunResult, type EfsVolumeResult } from '../../workflows';
import { runSearchAttributes } from '../../workflows/definitions';
import { paint, printJson } from '../output';
import { gidOption, integerOption } from '../parsers';
import { renderSummary, runWorkflow } from '../run';
import { openSession } from '../session';
import { addIdentityOptions, checkIdentityOptions, identityInWords, peopleOf, plannedAccessPointPolicy, type IdentityOptions } from './efsIdentity';

interface MountOptions extends IdentityOptions {
  mountPoint?: string;
  group?: string;
  gid?: number;
  user?: string[];
  iam?: boolean;
  tag?: string[];
  batchSsm?: boolean;
  concurrency: number;
  dryRun?: boolean;
  json?: boolean;
  detach?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Validates every argument at once, before anything is sent, so the operator fixes them in one pass; a
 * schedule of mounts checks its arguments here too.
 */
export function mountRequest(
  name: string,
  instanceIds: string[],
  options: Pick<MountOptions, 'mountPoint' | 'group' | 'gid' | 'user' | 'iam' | 'identity' | 'person' | 'registry' | 'tag'>,
): EfsMountRequest & { tags: TagSelector[] } {
  const identity = checkIdentityOptions(options);
  const tags = parseTagSelectors(options.tag ?? []);
  const request = {
    volumeName: validateVolumeName(name),
    fileSystemId: 'fs-00000000',
    instanceIds: validateFleetSelection({ instanceIds, tags }),
    mountPoint: options.mountPoint,
    group: options.group,
    gid: options.gid,
    users: options.user,
    iam: options.iam === true ? true : undefined,
    ...(identity === 'access-point' ? { identity } : {}),
    tags,
  };
  // The tagged instances are found when the run runs; the settings' check needs an instance, not which one.
  resolveEfsSettings({ ...request, instanceIds: request.instanceIds.length ? request.instanceIds : [TAGGED_PLACEHOLDER] });
  return request;
}

const TAGGED_PLACEHOLDER = 'i-00000000';

/** The dry run's instances: the named ones and what the tags resolve to now (a later run asks EC2 again). */
async function instancesNow(request: { instanceIds: readonly string[]; tags: TagSelector[] }): Promise<string[]> {
  if (request.tags.length === 0) return [...request.instanceIds];
  const [{ EC2Client }, { resolveTargets }] = await Promise.all([import('@aws-sdk/client-ec2'), import('../../host/aws/targets')]);
  const ec2 = new EC2Client({});
  try {
    const resolved = await resolveTargets(ec2, request);
    process.stderr.write(
      `tags ${describeTagSelectors(request.tags)} select ${resolved.tagged.length ? resolved.tagged.join(', ') : 'no running Linux instance'} now; every run asks EC2 again\n`,
    );
    for (const { instanceId, reason } of resolved.passedOver) process.stderr.write(`passed over ${instanceId}: ${reason}\n`);
    return resolved.instanceIds;
  } finally {
    ec2.destroy();
  }
}

/** Read-only lookup for the dry run: the plan shows the real file-system ID when the volume exists. */
async function existingFileSystemId(name: string): Promise<string | undefined> {
  // The AWS SDK takes a while to load: only a dry run pays for it.
  const [{ EFSClient }, { findFileSystem }] = await Promise.all([import('@aws-sdk/client-efs'), import('../../host/aws/fileSystem')]);
  const efs = new EFSClient({});
  try {
    return (await findFileSystem(efs, name))?.fileSystemId;
  } catch (error) {
    process.stderr.write(`note: could not look up the file system (${(error as Error).message.split('\n')[0]}); the plan shows a placeholder ID\n`);
    return undefined;
  } finally {
    efs.destroy();
  }
}

function renderPlan(plan: EfsPlan, exists: boolean): string {
  const head = `${plan.action} volume ${plan.volumeName} (${exists ? plan.fileSystemId : 'file system not created yet: the ID below is a placeholder'}) at ${plan.mountPoint}, group ${plan.group} (${plan.gid}), users ${plan.users.length ? plan.users.join(', ') : 'detected on each instance'}${plan.iam ? ', IAM authorization (-o tls,iam)' : ''}`;
  const mountNotes =
    plan.action === 'mount'
      ? [
          `installing amazon-efs-utils: ${plan.installRoutes}`,
          "identities: gatherInstanceFacts reports each instance's login users (name, UID, GID) first; users whose UIDs disagree across instances are reported as collisions before anything changes",
        ]
      : [];
  const instances = plan.instances.map((instance) =>
    [
      `instance ${instance.instanceId}:`,
      ...instance.steps.map((step, i) => `  ${i + 1}. ${step.step}: ${step.summary}\n${step.script.replace(/^/gm, '     | ')}`),
    ].join('\n'),
  );
  return [head, ...identityInWords(plan), ...mountNotes, ...instances, 'dry run: nothing was sent'].join('\n\n');
}

/** Who the run acted on: converged instances, and with tags who joined and departed since the previous run. */
export function fleetLines(result: EfsRunResult): string[] {
  const converged = result.instances.filter((i) => i.converged).map((i) => i.instanceId);
  const lines = converged.length ? [`found converged, unchanged (one read-only command each): ${converged.join(', ')}`] : [];
  if (result.ssmCalls !== undefined) lines.push(`SSM calls: ${result.ssmCalls} (batched: one SendCommand per step for up to 50 instances)`);
  const fleet = result.fleet;
  if (!fleet) return lines;
  const since = fleet.comparedWithPreviousRun ? 'since the previous run' : 'no previous run to compare with';
  return [
    ...lines,
    `tags ${describeTagSelectors(fleet.tags)} (${since}): joined ${fleet.joined.join(', ') || 'none'}; departed ${fleet.departed.join(', ') || 'none'}`,
    ...fleet.passedOver.map((p) => `passed over ${p.instanceId}: ${p.reason}`),
  ];
}

/** A mount's or unmount's result in words: the summary, each instance's install route and users, collisions, failures. */
export function renderEfsRun(result: EfsRunResult, progress?: Parameters<typeof renderSummary>[1]): string {
  const failed = result.instances.filter((i) => !i.ok);
  const facts = (result.identities?.instances ?? []).map(
    (i) =>
      `${i.instanceId}: ${installRouteInWords(chooseInstallRoute(i), i.os)}; users ${i.users.map((u) => `${u.name} (${u.uid}:${u.gid})`).join(', ') || 'none'}`,
  );
  const collisions = (result.identities?.collisions ?? []).map((c) => paint('yellow', `collision: ${collisionInWords(c)}`));
  const accessPoint = [
    ...(result.accessPointId ? [`mounted through access point ${result.accessPointId}: files show the shared identity as owner`] : []),
    ...(result.deletedAccessPoints ? [`access point deleted: ${result.deletedAccessPoints.join(', ') || 'none was there'}`] : []),
  ];
  return [
    renderSummary(result, progress),
    ...accessPoint,
    ...fleetLines(result),
    ...facts,
    ...collisions,
    ...failed.map((i) => paint('red', `${i.instanceId}: ${i.error}`)),
  ]
    .filter(Boolean)
    .join('\n');
}

/** The dry run's registry lookup: read-only, through the same session kind a run would use. */
async function lookupOnly(options: MountOptions) {
  const session = await openSession({ embedded: {} });
  try {
    return await peopleOf(session, options);
  } finally {
    await session.close();
  }
}

/** unmount --delete-access-point: says so when the access point was kept because an instance did not unmount. */
function renderUnmountDeleting(result: EfsRunResult, progress?: Parameters<typeof renderSummary>[1]): string {
  const kept = result.deletedAccessPoints ? [] : [paint('yellow', 'access point kept: not every instance unmounted, and one still mounted may be using it')];
  return [renderEfsRun(result, progress), ...kept].join('\n');
}

function mountLike(action: 'mount' | 'unmount'): Command {
  const command = new Command(action)
    .argument('<name>', 'volume name')
    .argument('[instance-id...]', 'EC2 instance IDs (reached through SSM Run Command); optional with --tag')
    .option(
      '--tag <key=value>',
      'also every running Linux instance with this tag, found when the run runs (repeat: all must match; Key=V1,V2: any value)',
      collect,
    )
    .option('--mount-point <path>', 'where the volume is mounted on each instance (default /mnt/<name>)')
    .option('--group <name>', 'shared group on every instance (default prism-shared)')
    .addOption(gidOption('--gid <gid>', 'GID of the shared group (default 3000)'))
    .option('--user <name>', 'login user to add to the group (repeat; default: detected on each instance, never root or ssm-user)', collect)
    .option('--iam', 'mount with IAM authorization (-o tls,iam; also in the fstab line), for file system policies that require it')
    .addOption(integerOption('--concurrency <n>', 'instances worked on at once', { min: 1, max: 500, default: 10 }))
    .option('--batch-ssm', 'mount: one SendCommand per step for up to 50 instances instead of one per instance (for fleets)')
    .option('--dry-run', 'print the steps and the exact script of each, per instance; send nothing')
    .option('--json', 'print JSON')
    .option('--detach', 'start the workflow and return its ID without following it');
  addIdentityOptions(command, action);
  return command.action(async (name: string, instanceIds: string[], options: MountOptions) => {
    const request = mountRequest(name, instanceIds, options);
    if (options.dryRun) {
      const [id, instanceIds] = await Promise.all([existingFileSystemId(request.volumeName), instancesNow(request)]);
      if (instanceIds.length === 0) {
        if (options.json) printJson({ action, volumeName: request.volumeName, tags: request.tags, instances: [] });
        else process.stdout.write(`no instance matches ${fleetInWords(request)} now: a run would change nothing\ndry run: nothing was sent\n`);
        return;
      }
      const people = options.person?.length ? await lookupOnly(options) : undefined;
      const plan = (action === 'mount' ? planEfsMount : planEfsUnmount)({ ...request, instanceIds, people, fileSystemId: id ?? request.fileSystemId });
      if (options.json) printJson({ ...plan, tags: request.tags, fileSystemExists: Boolean(id) });
      else process.stdout.write(`${renderPlan(plan, Boolean(id))}\n`);
      return;
    }
    const { fileSystemId: _placeholder, ...input } = request; // the real ID is found by the workflow
    const session = await openSession({ embedded: {} });
    try {
      const people = await peopleOf(session, options);
      process.exitCode = await runWorkflow(
        session,
        action === 'mount' ? efsMountWorkflow : efsUnmountWorkflow,
        {
          taskQueue: generalTaskQueue(),
          workflowId: efsRunWorkflowId(action, request.volumeName),
          args: [
            {
              ...input,
              instanceIds: [...request.instanceIds],
              users: request.users ? [...request.users] : undefined,
              iam: request.iam,
              concurrency: options.concurrency,
              ...(people ? { people } : {}),
              ...(options.deleteAccessPoint ? { deleteAccessPoint: true } : {}),
              ...(options.batchSsm && action === 'mount' ? { batchSsm: true } : {}),
            },
          ],
          staticSummary: `EFS ${action} ${request.volumeName} on ${fleetInWords(request)}`,
          typedSearchAttributes: runSearchAttributes('efs', [request.volumeName], [...request.instanceIds]),
        },
        { json: Boolean(options.json), detach: options.detach, render: options.deleteAccessPoint ? renderUnmountDeleting : renderEfsRun },
      );
    } finally {
      await session.close();
    }
  });
}

interface CreateOptions {
  instance: string[];
  subnet?: string[];
  tag?: string[];
  requireAccessPoints?: boolean;
  dryRun?: boolean;
  json?: boolean;
  detach?: boolean;
}

/** Read-only: what create would ask for and, with --require-access-points, the policy it would put. */
async function printCreateDryRun(volumeName: string, instanceIds: readonly string[], options: CreateOptions): Promise<void> {
  const { EFSClient } = await import('@aws-sdk/client-efs');
  const efs = new EFSClient({});
  try {
    const planned = options.requireAccessPoints ? await plannedAccessPointPolicy(efs, volumeName) : undefined;
    if (options.json) {
      printJson({ volume: volumeName, instanceIds, requireAccessPoints: Boolean(options.requireAccessPoints), ...(planned ?? {}) });
      return;
    }
    const lines = [`create or find the file system of volume ${volumeName}, its NFS security group and a mount target per zone of ${instanceIds.join(', ')}`];
    if (planned) {
      lines.push(
        `file system policy of ${planned.fileSystemId ?? 'the new file system (its ARN below is a placeholder)'}, refusing every mount without an access point:`,
        JSON.stringify(planned.policy, null, 2),
      );
    }
    process.stdout.write(`${[...lines, 'dry run: nothing was sent'].join('\n\n')}\n`);
  } finally {
    efs.destroy();
  }
}

function renderCreate(result: EfsVolumeResult): string {
  const targets = result.mountTargets.map((t) => `${t.mountTargetId} in ${t.availabilityZone}${t.created ? ' (new)' : ''}`).join(', ');
  const head = `${result.fileSystemId}${result.created ? ' created' : ' already existed'}; security group ${result.securityGroupId}; mount targets: ${targets || 'none'}`;
  const policy = result.policy ? [`file system policy: mounts without an access point are refused`] : [];
  return [head, ...policy, ...result.unknownInstances.map((u) => paint('red', `${u.instanceId}: ${u.reason}`))].join('\n');
}

export function efsCommand(): Command {
  const efs = new Command('efs').description('AWS EFS shared volumes: one file system, many instances, a shared group so every user can write');

  efs.addCommand(
    new Command('create')
      .description('create (or find) the file system, its NFS security group and a mount target per zone of the instances')
      .argument('<name>', 'volume name (its creation token is derived from it, so a retry never makes a second file system)')
      .requiredOption(
        '--instance <id>',
        'an instance that will mount it (repeat): its VPC and security groups decide, and its subnet unless --subnet is given',
        collect,
      )
      .option('--subnet <id>', "a subnet for a mount target (repeat; one per availability zone; default: the instances' subnets)", collect)
      .option('--tag <key=value>', 'extra tag (repeat)', collect)
      .option('--require-access-points', 'add file system policy statements that refuse every mount not made through an access point')
      .option('--dry-run', 'print what would be asked of EFS (with --require-access-points, the whole policy); send nothing')
      .option('--json', 'print JSON')
      .option('--detach', 'start the workflow and return its ID without following it')
      .addHelpText(
        'after',
        '\nExamples:\n  $ sharemount efs create research --instance i-0123456789abcdef0 --instance i-0fedcba9876543210\n  $ sharemount efs create research --instance i-0123456789abcdef0 --subnet subnet-0aaa1111 --subnet subnet-0bbb2222',
      )
      .action(async (name: string, options: CreateOptions) => {
        const volumeName = validateVolumeName(name);
        const instanceIds = validateInstanceIds(options.instance, '--instance');
        const subnetIds = options.subnet ? validateSubnetIds(options.subnet, '--subnet') : undefined;
        const tags = Object.fromEntries(
          (options.tag ?? []).map((pair) => {
            const match = /^([A-Za-z0-9_.:/=+@ -]{1,128})=([A-Za-z0-9_.:/=+@ -]{0,256})$/.exec(pair);
            if (!match) throw new InputError('--tag', `${JSON.stringify(pair)} is not key=value of letters, digits, spaces and _.:/=+@-`);
            return [match[1], match[2]];
          }),
        );
        if (options.dryRun) {
          await printCreateDryRun(volumeName, instanceIds, options);
          return;
        }
        const session = await openSession({ embedded: {} });
        try {
          process.exitCode = await runWorkflow(
            session,
            efsCreateWorkflow,
            {
              taskQueue: generalTaskQueue(),
              workflowId: efsRunWorkflowId('create', volumeName),
              args: [
                { name: volumeName, instanceIds: [...instanceIds], subnetIds, tags, ...(options.requireAccessPoints ? { requireAccessPoints: true } : {}) },
              ],
              staticSummary: `EFS create ${volumeName} for ${instanceIds.length} instance(s)`,
              typedSearchAttributes: runSearchAttributes('efs', [volumeName], [...instanceIds]),
            },
            { json: Boolean(options.json), detach: options.detach, render: renderCreate },
          );
        } finally {
          await session.close();
        }
      }),
  );

  efs.addCommand(
    mountLike('mount')
      .description('mount the volume on every instance: efs-utils, group, users, TLS mount, layout, fstab, umask; one child workflow per instance')
      .addHelpText(
        'after',
        '\nExamples:\n  $ sharemount efs mount research i-0123456789abcdef0 i-0fedcba9876543210\n  $ sharemount efs mount research --tag Project=research --dry-run\n  $ sharemount efs mount research i-0123456789abcdef0 --user ubuntu --dry-run',
      ),
  );
  efs.addCommand(
    mountLike('unmount')
      .description('unmount by mount point and remove exactly that fstab line; the data stays')
      .addHelpText('after', '\nExamples:\n  $ sharemount efs unmount research i-0123456789abcdef0\n  $ sharemount efs unmount research --tag Project=research'),
  );
  return efs;
}
