/**
 * Whether an instance's SSM agent can take a command, from what DescribeInstanceInformation said about it. Pure,
 * so the activity and the tests decide alike; an instance that cannot is failed alone before any command.
 */

/** The fields of one InstanceInformation entry this decision reads. */
export interface AgentInformation {
  instanceId: string;
  /** Online | ConnectionLost | Inactive. */
  pingStatus?: string;
  /** Linux | Windows | MacOS. */
  platformType?: string;
  platformName?: string;
  platformVersion?: string;
  agentVersion?: string;
}

export type AgentNotReadyKind = 'AgentNotRegistered' | 'AgentOffline' | 'PlatformNotLinux';

export interface AgentNotReady {
  instanceId: string;
  /** Also the (non-retryable) failure type the instance fails with. */
  kind: AgentNotReadyKind;
  reason: string;
}

export interface AgentReadiness {
  ready: string[];
  notReady: AgentNotReady[];
}

function notReadyReason(instanceId: string, info: AgentInformation | undefined): AgentNotReady | undefined {
  if (!info) {
    return {
      instanceId,
      kind: 'AgentNotRegistered',
      reason: `${instanceId} is not registered with Systems Manager: install and start amazon-ssm-agent, and give the instance a role with AmazonSSMManagedInstanceCore`,
    };
  }
  if (info.pingStatus !== 'Online') {
    return {
      instanceId,
      kind: 'AgentOffline',
      reason: `the SSM agent of ${instanceId} is ${info.pingStatus ?? 'of unknown status'}, not Online: start the instance, or restart amazon-ssm-agent on it`,
    };
  }
  if (info.platformType !== 'Linux') {
    return {
      instanceId,
      kind: 'PlatformNotLinux',
      reason: `${instanceId} runs ${info.platformType ?? 'an unknown platform'}${info.platformName ? ` (${info.platformName})` : ''}: sharemount mounts EFS on Linux instances only`,
    };
  }
  return undefined;
}

/** Each asked-for instance, in the order asked, as ready or not ready with its reason. */
export function agentReadiness(instanceIds: readonly string[], information: readonly AgentInformation[]): AgentReadiness {
  const byId = new Map(information.map((i) => [i.instanceId, i]));
  const out: AgentReadiness = { ready: [], notReady: [] };
  for (const id of instanceIds) {
    const notReady = notReadyReason(id, byId.get(id));
    if (notReady) out.notReady.push(notReady);
    else out.ready.push(id);
  }
  return out;
}
