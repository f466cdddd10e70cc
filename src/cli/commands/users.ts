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

/** A `users` subcommand: every one takes --registry and --json and shows an example. */
function registryCommand(name: string, description: string, example: string): Command {
  return new Command(name)
    .description(description)
    .addOption(new Option('--registry <name>', 'which registry (one per team; its workflow ID is sharemount-registry-<name>)').default(DEFAULT_REGISTRY_NAME))
    .option('--json', 'print JSON')
    .addHelpText('after', `\n${example}`);
}

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
  return registryCommand(
    'add',
    'register a person (or show the one registered): the next never-given UID of the range, or --uid',
    'Examples:\n  $ sharemount users add alice\n  $ sharemount users add bob --uid 2100 --json\n  $ sharemount users add carol --registry research --uid-range 5000-5999',
  )
    .argument('<name>', "the person's login name on every instance (useradd's rule; not a system or image account)")
    .addOption(integerOption('--uid <n>', 'this UID instead of the next free one (inside the range, never given before)', { min: 1000, max: 60000 }))
    .option('--uid-range <first-last>', 'the range people get UIDs from, fixed when the registry is created (default 2000-9999)')
    .option('--shared-group <name>', 'the group every person is in, fixed at creation (default prism-shared)')
    .addOption(gidOption('--shared-gid <gid>', 'its GID, fixed at creation (default 3000)'))
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

/** A subcommand about one person: the name is checked before anything connects; --json prints `json`, else `text`. */
function onePerson(command: Command, run: (session: Session, registry: string, name: string) => Promise<{ json: object; text: string }>): Command {
  return command.argument('<name>').action(async (name: string, options: Common) => {
    validatePersonName(name);
    await withRegistry(options, async (session, registry) => {
      const out = await run(session, registry, name);
      if (options.json) printJson({ registry, ...out.json });
      else process.stdout.write(`${out.text}\n`);
    });
  });
}

function removeCommand(): Command {
  const command = registryCommand(
    'remove',
    'remove a person; their UID is retired and never given to anyone again',
    'Example:\n  $ sharemount users remove alice',
  );
  return onePerson(command, async (session, registry, name) => {
    const { removed } = await removeFromRegistry(session.client, registry, name);
    return { json: { ...removed, retired: true }, text: `${removed.name} removed; UID ${removed.uid} is retired` };
  });
}

function listCommand(): Command {
  return registryCommand(
    'list',
    'every registered person with UID and GID, the shared group and the retired UIDs',
    'Example:\n  $ sharemount users list --json',
  ).action(async (options: Common) =>
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
  return onePerson(
    registryCommand('show', "one person's UID, GID and groups", 'Example:\n  $ sharemount users show alice --json'),
    async (session, registry, name) => {
      const person = await showInRegistry(session.client, registry, name);
      if (!person) throw new CliError(`<name>: ${name} is not in registry ${registry}; add them with \`sharemount users add ${name}\``, EXIT.badInput);
      return { json: person, text: personLine(person) };
    },
  );
}

export function usersCommand(): Command {
  return new Command('users')
    .description('the identity registry: one UID and GID per person on every instance, held by a durable Temporal workflow')
    .addCommand(addCommand())
    .addCommand(removeCommand())
    .addCommand(listCommand())
    .addCommand(showCommand());
}
