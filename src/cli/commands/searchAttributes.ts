import { Command } from 'commander';
import { ensureSearchAttributes } from '../../temporal/searchAttributes';
import { printJson } from '../output';
import { openSession } from '../session';

/** The dev server and `sharemount server` register these at start; another cluster needs them once, so the UI can filter by volume. */
export function searchAttributesCommand(): Command {
  return new Command('setup-search-attributes')
    .description('register ShareMountVolume, ShareMountBackend and ShareMountTargets on the cluster at TEMPORAL_ADDRESS (idempotent)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ TEMPORAL_ADDRESS=temporal:7233 sharemount setup-search-attributes')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      try {
        const namespace = session.settings.namespace;
        const { added, present } = await ensureSearchAttributes(session.client.connection, namespace);
        if (options.json) printJson({ namespace, added, present });
        else
          process.stdout.write(
            added.length ? `registered ${added.join(', ')} in namespace ${namespace}\n` : `all search attributes already registered in ${namespace}\n`,
          );
      } finally {
        await session.close();
      }
    });
}
