/** AWS and doctor work runs on any worker; LXC work must run on the Proxmox node that owns the containers. */
export const GENERAL_TASK_QUEUE = 'sharemount';

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export function lxcTaskQueue(node: string): string {
  if (!NODE_NAME.test(node)) throw new Error(`invalid Proxmox node name ${JSON.stringify(node)}: use letters, digits, dots and dashes`);
  return `lxc:${node}`;
}
