/**
 * Queries and search-attribute keys shared by workflows and the CLI, defined once so both sides agree.
 */
import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { RunProgress } from '../domain/progress';
import { SEARCH_ATTRIBUTES } from '../domain/searchAttributes';

export const progressQuery = defineQuery<RunProgress>('progress');

/** The SDK's name for each type the Temporal CLI and the operator service call by another name. */
const KEY_TYPE = { Keyword: 'KEYWORD', KeywordList: 'KEYWORD_LIST' } as const;

// Name and type come from SEARCH_ATTRIBUTES, the list the dev server and `setup-search-attributes` register:
// a key that is not registered there does not compile.
function keyOf<N extends keyof typeof SEARCH_ATTRIBUTES>(name: N) {
  return defineSearchAttributeKey(name, KEY_TYPE[SEARCH_ATTRIBUTES[name]] as (typeof KEY_TYPE)[(typeof SEARCH_ATTRIBUTES)[N]]);
}

export const VOLUME_ATTRIBUTE = keyOf('ShareMountVolume');
export const BACKEND_ATTRIBUTE = keyOf('ShareMountBackend');
export const TARGETS_ATTRIBUTE = keyOf('ShareMountTargets');

/** A run's search attributes: its volumes, its backend and, when known, its targets (ct<ID> or instance IDs). */
export function runSearchAttributes(backend: 'lxc' | 'efs', volumes: string[], targets?: string[]): SearchAttributePair[] {
  return [
    { key: VOLUME_ATTRIBUTE, value: volumes },
    { key: BACKEND_ATTRIBUTE, value: backend },
    ...(targets ? [{ key: TARGETS_ATTRIBUTE, value: targets }] : []),
  ];
}
