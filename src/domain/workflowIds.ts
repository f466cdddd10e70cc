/**
 * Deterministic workflow IDs: the same work always gets the same ID, so Temporal itself guarantees that one
 * volume is never applied twice at once on a node, nor mounted twice at once on an instance, and a CLI run
 * that is repeated attaches to the run already under way instead of starting a second one.
 */
export function lxcApplyWorkflowId(node: string, onlyVolume?: string): string {
  return onlyVolume ? `sharemount-lxc-${node}-apply-${onlyVolume}` : `sharemount-lxc-${node}-apply`;
}

export function lxcVolumeWorkflowId(node: string, volume: string): string {
  return `sharemount-lxc-${node}-volume-${volume}`;
}

export function efsRunWorkflowId(action: 'create' | 'mount' | 'unmount', volume: string): string {
  return `sharemount-efs-${volume}-${action}`;
}

/** Mount and unmount of one volume on one instance share an ID: they can never overlap. */
export function efsInstanceWorkflowId(volume: string, instanceId: string): string {
  return `sharemount-efs-${volume}-on-${instanceId}`;
}

/** One identity registry per name (default `default`), whatever the account or region: see the README. */
export function registryWorkflowId(registry: string): string {
  return `sharemount-registry-${registry}`;
}
