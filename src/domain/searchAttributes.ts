/**
 * The custom search attributes sharemount sets on every workflow, so the Temporal UI's list filters by
 * volume, backend and target. Registered on the dev server at start and by `sharemount setup` elsewhere.
 */
export const SEARCH_ATTRIBUTES = {
  /** A list: an apply of several volumes is found by any one of them. */
  ShareMountVolume: 'KeywordList',
  ShareMountBackend: 'Keyword',
  ShareMountTargets: 'KeywordList',
} as const;
