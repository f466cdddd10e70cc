import { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../domain/searchAttributes';
import { printJson } from '../output';
import { openSession } from '../session';

const TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/** The dev server registers these at start; a cluster needs them once, so the UI can filter by volume. */
export function searchAttributesCommand(): Command {
  return new Command('setup-search-attributes')
    .description('register ShareMountVolume, ShareMountBackend and ShareMountTargets on the cluster at TEMPORAL_ADDRESS (idempotent)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ TEMPORAL_ADDRESS=temporal:7233 sharemount setup-search-attributes')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      try {
        const namespace = session.settings.namespace;
        const existing = await session.client.connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {})));
        if (missing.length) {
          await session.client.connection.operatorService.addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
          });
        }
        const added = missing.map(([name]) => name);
        if (options.json) printJson({ namespace, added, present: Object.keys(SEARCH_ATTRIBUTES).filter((n) => !added.includes(n)) });
        else process.stdout.write(added.length ? `registered ${added.join(', ')} in namespace ${namespace}\n` : `all search attributes already registered in ${namespace}\n`);
      } finally {
        await session.close();
      }
    });
}
