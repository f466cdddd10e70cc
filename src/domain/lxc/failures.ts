/**
 * The failure types of the LXC steps, one home for the activities that raise them and the workflows whose
 * retry policies read them.
 */
export const LXC_FAILURES = {
  containerNotFound: 'ContainerNotFound',
  containerConfigInvalid: 'ContainerConfigInvalid',
  volumeNotFound: 'VolumeNotFound',
  invalidInput: 'InvalidInput',
  noFreeSlot: 'NoFreeMountPointSlot',
  /** pct failed; retryable when it raised it so (its config lock timed out), final when pct is missing. */
  pctFailed: 'PctFailed',
  /** pct refused: `protection: 1`. */
  containerProtected: 'ContainerProtected',
  /** pct refused: the config carries `lock:` (a backup, migration or snapshot in progress, or a stale one). */
  containerLocked: 'ContainerLocked',
  /** pct refused: a replicated container and a bind mount without replicate=0. */
  replicationRefused: 'ReplicationRefused',
  /** The host path has a symlink in it, or is no longer the directory the plan saw. */
  hostPathUnsafe: 'HostPathUnsafe',
} as const;

/** The types no retry can change: the host must change first. */
export const LXC_PERMANENT_FAILURES: readonly string[] = Object.values(LXC_FAILURES).filter((type) => type !== LXC_FAILURES.pctFailed);
