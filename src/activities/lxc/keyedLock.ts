/**
 * Runs one task at a time per key, in arrival order. Volume workflows run side by side, and two of them
 * binding into the same container would otherwise read the same free slot from its config.
 */
export function createKeyedLock<K>() {
  const tails = new Map<K, Promise<unknown>>();
  return async function withLock<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const tail = current.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
