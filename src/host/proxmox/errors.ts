/**
 * What can go wrong on a Proxmox node, as plain errors: the activities decide which are worth a retry, and the
 * CLI's read-only plan reports them as they are.
 */
export type ProxmoxErrorKind =
  /** The container's config file is not on this node. */
  | 'containerNotFound'
  /** The config file cannot be read as a Proxmox container config. */
  | 'configInvalid'
  /** A value sharemount would pass on is not acceptable. */
  | 'invalidInput'
  /** Every mpN slot is taken. */
  | 'noFreeSlot'
  /** The pct command does not exist here. */
  | 'pctMissing'
  /** pct ran and failed for a reason that may pass (its config lock file timed out, a hot-plug failed). */
  | 'pctFailed'
  /** `protection: 1`: PVE::AbstractConfig::check_protection refuses every mount point change. */
  | 'containerProtected'
  /** `lock: <what>` in the config: check_lock refuses every change until an operator clears it. */
  | 'containerLocked'
  /** The container has a replication job and the bind mount lacks replicate=0 (API2::LXC::Config update_vm). */
  | 'replicationRefused'
  /** The config kept changing between our read and pct set (its digest never matched). */
  | 'configKeptChanging';

export class ProxmoxError extends Error {
  constructor(
    readonly kind: ProxmoxErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ProxmoxError';
  }
}
