/**
 * The identity options of `efs mount`, `efs unmount` and `efs create`: registry people to provision
 * (`--person`, `--registry`), the identity mode (`--identity group|access-point`), deleting the shared area's
 * access point on unmount (`--delete-access-point`) and the policy that refuses mounts without one
 * (`efs create --require-access-points`, whose dry run prints it).
 */
import { Command, Option } from 'commander';
import type { EFSClient } from '@aws-sdk/client-efs';
import { checkIdentityCombination, IDENTITY_MODES, validateIdentityMode, type EfsPlan, type IdentityMode, type ProvisionedPerson } from '../../domain/efs';
import { validateFileSystemId, validateVolumeName } from '../../domain/efs/names';
import { DEFAULT_REGISTRY_NAME, validatePersonName, validateRegistryName } from '../../domain/identity/names';
import { withAccessPointOnly, type FileSystemPolicy } from '../../domain/identity/mountPolicy';
import { lookupPeople } from '../registry';
import type { Session } from '../session';

export interface IdentityOptions {
  identity?: string;
  person?: string[];
  registry?: string;
  deleteAccessPoint?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** --identity on mount and unmount; --person and --registry on mount; --delete-access-point on unmount. */
export function addIdentityOptions(command: Command, action: 'mount' | 'unmount'): Command {
  // Checked by validateIdentityMode, so a wrong mode is exit 2 naming --identity like every other bad input.
  command.option(
    '--identity <mode>',
    action === 'mount'
      ? `${IDENTITY_MODES.join(' or ')}: the shared group, setgid layout and umask (default), or every instance mounts the volume's shared area through one EFS access point that acts as the shared identity`
      : 'the mode the volume was mounted with (access-point mounts come off the same way)',
  );
  if (action === 'mount') {
    command
      .option('--person <name>', 'a registry person to create on every instance with their registry UID and GID, with users/<name>/ (repeat)', collect)
      .addOption(new Option('--registry <name>', 'the registry --person is looked up in').default(DEFAULT_REGISTRY_NAME));
  } else {
    command.option('--delete-access-point', "after every instance is unmounted, delete the volume's shared-area access point (kept otherwise)");
  }
  return command;
}

/** Checks the identity options before anything is sent: names, registry, mode, and that they go together. */
export function checkIdentityOptions(options: IdentityOptions): IdentityMode {
  const mode = validateIdentityMode(options.identity);
  const names = (options.person ?? []).map((name) => validatePersonName(name, '--person'));
  if (options.registry !== undefined) validateRegistryName(options.registry);
  checkIdentityCombination(mode, names);
  return mode;
}

/** The named people as the registry holds them (an unregistered name is bad input naming --person). */
export async function peopleOf(session: Session, options: IdentityOptions): Promise<ProvisionedPerson[] | undefined> {
  if (!options.person?.length) return undefined;
  const people = await lookupPeople(session.client, validateRegistryName(options.registry ?? DEFAULT_REGISTRY_NAME), options.person);
  return people.map(({ name, uid, gid }) => ({ name, uid, gid }));
}

/** What the dry run adds to its head: the identity mode and the people to provision. */
export function identityInWords(plan: EfsPlan): string[] {
  const lines: string[] = [];
  if (plan.identity === 'access-point') {
    lines.push(
      `identity: through access point ${plan.accessPointId ?? ''} (ensureSharedAccessPoint finds or creates it after the file system is ready; until then the ID shown is a placeholder): every file shows the shared identity as owner, so no group, layout or umask step runs`,
    );
  }
  if (plan.people.length > 0) {
    lines.push(
      `people: ${plan.people.map((p) => `${p.name} (uid ${p.uid}, gid ${p.gid})`).join(', ')} created on every instance by provisionPeople, each with users/<name>/`,
    );
  }
  return lines;
}

/** `efs create --require-access-points --dry-run`: the policy the file system would get, beside its current one. */
export async function plannedAccessPointPolicy(efs: EFSClient, name: string): Promise<{ fileSystemId?: string; policy: FileSystemPolicy }> {
  const volume = validateVolumeName(name);
  const [{ findFileSystem }, { fileSystemArn, readFileSystemPolicy }] = await Promise.all([
    import('../../host/aws/fileSystem'),
    import('../../host/aws/accessPoints'),
  ]);
  const found = await findFileSystem(efs, volume);
  if (!found) {
    const region = await efs.config.region();
    // Not created yet: the ARN's account and ID are placeholders until efs create makes it.
    const placeholder = `arn:aws:elasticfilesystem:${region}:000000000000:file-system/${validateFileSystemId('fs-00000000')}`;
    return { policy: withAccessPointOnly(undefined, placeholder) };
  }
  const existing = await readFileSystemPolicy(efs, found.fileSystemId);
  return { fileSystemId: found.fileSystemId, policy: withAccessPointOnly(existing, await fileSystemArn(efs, found.fileSystemId)) };
}
