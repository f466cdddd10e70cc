/**
 * The ownership walk: one async interface over two engines that keep the same contract (types.ts). The native
 * helper (native/sharemount-walk.c, driven by nativeEngine.ts) runs when it is built; otherwise the Node engine
 * (nodeEngine.ts), which never blocks the event loop for longer than a report interval. A cursor from one
 * engine resumes in the other.
 */
import { nativeWalkHelper, walkWithHelper } from './nativeEngine';
import { walkWithNode } from './nodeEngine';
import type { Owner, WalkOptions, WalkResult } from './types';

export * from './types';

export type Engine = { engine: 'node' } | { engine: 'native'; helper: string };

/** Which engine runs: options.engine, else $SHAREMOUNT_WALK_ENGINE (node | native), else native when built. */
export function chooseEngine(options: Pick<WalkOptions, 'engine'> = {}): Engine {
  const wanted = options.engine ?? (process.env.SHAREMOUNT_WALK_ENGINE as WalkOptions['engine']) ?? 'auto';
  if (wanted === 'node') return { engine: 'node' };
  const helper = nativeWalkHelper();
  if (helper) return { engine: 'native', helper };
  if (wanted === 'native') throw new Error('the native ownership walk is not built (sharemount-walk: run npm run build, or set SHAREMOUNT_WALK_HELPER)');
  return { engine: 'node' };
}

/** Walks `root` and gives everything in it (the root last, when all beneath converged) the owner `owner`. */
export async function walkOwnership(root: string, owner: Owner, options: WalkOptions = {}): Promise<WalkResult> {
  const chosen = chooseEngine(options);
  return chosen.engine === 'native' ? walkWithHelper(chosen.helper, root, owner, options) : walkWithNode(root, owner, options);
}
