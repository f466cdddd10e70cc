/**
 * Which ownership walk runs on a host, and why (found by src/host/walk/helper.ts): the native helper, checked
 * against its SHA-256, or the Node engine and the reason. Doctor and the LXC plan say it in the same words.
 */
export type WalkHelperSource = 'prebuilt' | 'built-here' | 'explicit';

export type WalkEngineChoice = { engine: 'native'; source: WalkHelperSource; helper: string; sha256: string } | { engine: 'node'; reason: string };

const SOURCE_TEXT: Record<WalkHelperSource, string> = {
  prebuilt: 'prebuilt helper',
  'built-here': 'helper built here from source',
  explicit: 'helper named by SHAREMOUNT_WALK_HELPER',
};

export function describeWalkEngine(choice: WalkEngineChoice): string {
  if (choice.engine === 'node') return `Node walk (fallback): ${choice.reason}`;
  return `native: ${SOURCE_TEXT[choice.source]} ${choice.helper}, sha256 ok (${choice.sha256.slice(0, 12)}…)`;
}
