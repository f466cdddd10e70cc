/**
 * The ownership walk: one async interface over two engines that keep the same contract (types.ts). The native
 * helper (native/sharemount-walk.c, driven by nativeEngine.ts) runs when helper.ts finds one that passes its
 * checksum; otherwise the Node engine (nodeEngine.ts), which never blocks the event loop for longer than a
 * report interval. A cursor from one engine resumes in the other.
 */
import type { WalkEngineChoice } from '../../domain/walkEngine';
import { findWalkHelper } from './helper';
import { walkWithHelper } from './nativeEngine';
import { walkWithNode } from './nodeEngine';
import type { Owner, WalkOptions, WalkResult } from './types';

export * from './types';

const wantedEngine = (options: Pick<WalkOptions, 'engine'>, env: NodeJS.ProcessEnv) =>
  options.engine ?? (env.SHAREMOUNT_WALK_ENGINE as WalkOptions['engine']) ?? 'auto';

/**
 * Which engine a walk with these options runs, and why; never throws. options.engine, else
 * $SHAREMOUNT_WALK_ENGINE (node | native | auto), else auto: the native helper when one passes its checksum.
 */
export function walkEngineChoice(options: Pick<WalkOptions, 'engine'> = {}, env: NodeJS.ProcessEnv = process.env): WalkEngineChoice {
  if (wantedEngine(options, env) !== 'node') return findWalkHelper(env);
  return { engine: 'node', reason: options.engine ? 'the Node engine was asked for' : 'SHAREMOUNT_WALK_ENGINE=node' };
}

const reported = new Set<string>();

/** The engine for this walk; `native` asked for and not available is an error, not a fallback. */
export function chooseEngine(options: Pick<WalkOptions, 'engine'> = {}): WalkEngineChoice {
  const wanted = wantedEngine(options, process.env);
  const choice = walkEngineChoice(options);
  if (wanted === 'node' || choice.engine === 'native') return choice;
  if (wanted === 'native') throw new Error(`the native ownership walk cannot run: ${choice.reason}`);
  // once per process and reason: the worker's log says why the slower engine runs (doctor and plan say it too)
  if (!reported.has(choice.reason)) {
    reported.add(choice.reason);
    process.emitWarning(`ownership walk: the Node engine runs: ${choice.reason}`, 'SharemountWalkWarning');
  }
  return choice;
}

/** Walks `root` and gives everything in it (the root last, when all beneath converged) the owner `owner`. */
export async function walkOwnership(root: string, owner: Owner, options: WalkOptions = {}): Promise<WalkResult> {
  const chosen = chooseEngine(options);
  return chosen.engine === 'native' ? walkWithHelper(chosen.helper, root, owner, options) : walkWithNode(root, owner, options);
}
