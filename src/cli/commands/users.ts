import { Command, Option } from 'commander';
import { parseUidRange, type RegistryConfig } from '../../domain/identity/config';
import { DEFAULT_REGISTRY_NAME, validatePersonName, validateRegistryName } from '../../domain/identity/names';
import type { Person } from '../../domain/identity/registry';
import { registryWorkflowId } from '../../domain/workflowIds';
import { CliError, EXIT } from '../exitCodes';
import { printJson, table } from '../output';
import { gidOption, integerOption } from '../parsers';
import { addToRegistry, listRegistry, removeFromRegistry, showInRegistry } from '../registry';
import { openSession, type Session } from '../session';

interface Common {
  registry: string;
  json?: boolean;
}

const registryOption = () =>
  new Option('--registry <name>', 'which registry (one per team; its workflow ID is sharemount-registry-<name>)').default(DEFAULT_REGISTRY_NAME);

/** The registry's workflow runs on a worker; with no server running, the embedded one brings its own. */
async function withRegistry<T>(options: Common, fn: (session: Session, registry: string) => Promise<T>): Promise<T> {
  const registry = validateRegistryName(options.registry);
  const session = await openSession({ embedded: {} });
  try {
    return await fn(session, registry);
  } finally {
    await session.close();
  }
}

function personLine(person: Person): string {
  return `${person.name}: uid ${person.uid}, gid ${person.gid}, groups ${person.groups.join(',')}`;
}

function addCommand(): Command {
  return new Command('add')
    .description('register a person (or show the one registered): the next never-given UID of the range, or --uid')
    .argument('<name>', "the person's login name on every instance (useradd's rule; not a system or image account)")
    .addOption(integerOption('--uid <n>', 'this UID instead of the next free one (inside the range, never given before)', { min: 1000, max: 60000 }))
    .option('--uid-range <first-last>', 'the range people get UIDs from, fixed when the registry is created (default 2000-9999)')
    .option('--shared-group <name>', 'the group every person is in, fixed at creation (default prism-shared)')
    .addOption(gidOption('--shared-gid <gid>', 'its GID, fixed at creation (default 3000)'))
    .addOption(registryOption())
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ sharemount users add alice\n  $ sharemount users add bob --uid 2100 --json\n  $ sharemount users add carol --registry research --uid-range 5000-5999',
    )
    .action(async (name: string, options: Common & { uid?: number; uidRange?: string; sharedGroup?: string; sharedGid?: number }) => {
      validatePersonName(name);
      const config = creationConfig(options);
      await withRegistry(options, async (session, registry) => {
        const { person, created } = await addToRegistry(session.client, registry, { name, uid: options.uid, config });
        if (options.json) printJson({ registry, workflowId: registryWorkflowId(registry), created, ...person });
        else process.stdout.write(`${personLine(person)}${created ? '' : ' (already registered)'}\n`);
      });
    });
}

/** Only what the operator named: an add that names nothing accepts whatever the registry was created with. */
function creationConfig(options: { uidRange?: string; sharedGroup?: string; sharedGid?: number }): Partial<RegistryConfig> | undefined {
  if (options.uidRange === undefined && options.sharedGroup === undefined && options.sharedGid === undefined) return undefined;
  const config: Partial<RegistryConfig> = {};
  if (options.uidRange !== undefined) config.people = parseUidRange(options.uidRange);
  if (options.sharedGroup !== undefined || options.sharedGid !== undefined) {
    config.sharedGroup = { name: options.sharedGroup ?? 'prism-shared', gid: options.sharedGid ?? 3000 };
  }
  return config;
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove a person; their UID is retired and never given to anyone again')
    .argument('<name>')
    .addOption(registryOption())
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount users remove alice')
    .action(async (name: string, options: Common) => {
      validatePersonName(name);
      await withRegistry(options, async (session, registry) => {
        const { removed } = await removeFromRegistry(session.client, registry, name);
        if (options.json) printJson({ registry, ...removed, retired: true });
        else process.stdout.write(`${removed.name} removed; UID ${removed.uid} is retired\n`);
      });
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('every registered person with UID and GID, the shared group and the retired UIDs')
    .addOption(registryOption())
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount users list --json')
    .action(async (options: Common) =>
      withRegistry(options, async (session, registry) => {
        const listing = await listRegistry(session.client, registry);
        if (options.json) {
          printJson({ registry, ...listing });
          return;
        }
        const rows = listing.people.map((p) => [p.name, String(p.uid), String(p.gid), p.groups.join(','), p.addedAt]);
        process.stdout.write(
          `registry ${registry}: people ${listing.range.first}-${listing.range.last}, shared group ${listing.sharedGroup.name} (${listing.sharedGroup.gid})\n`,
        );
        process.stdout.write(`${table(['name', 'uid', 'gid', 'groups', 'added'], rows)}\n`);
        if (listing.retired.length) process.stdout.write(`retired UIDs: ${listing.retired.map((r) => `${r.uid} (${r.name})`).join(', ')}\n`);
      }),
    );
}

function showCommand(): Command {
  return new Command('show')
    .description("one person's UID, GID and groups")
    .argument('<name>')
    .addOption(registryOption())
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ sharemount users show alice --json')
    .action(async (name: string, options: Common) => {
      validatePersonName(name);
      await withRegistry(options, async (session, registry) => {
        const person = await showInRegistry(session.client, registry, name);
        if (!person) throw new CliError(`<name>: ${name} is not in registry ${registry}; add them with \`sharemount users add ${name}\``, EXIT.badInput);
        if (options.json) printJson({ registry, ...person });
        else process.stdout.write(`${personLine(person)}\n`);
      });
    });
}

export function usersCommand(): Command {
  return new Command('users')
    .description('the identity registry: one UID and GID per person on every instance, held by a durable Temporal workflow')
    .addCommand(addCommand())
    .addCommand(removeCommand())
    .addCommand(listCommand())
    .addCommand(showCommand());
}
