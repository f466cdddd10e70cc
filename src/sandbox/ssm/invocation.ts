/**
 * One command on one instance as the service reports it. The agent's plugin result becomes the invocation's
 * Status, StatusDetails and ResponseCode the way GetCommandInvocation and ListCommandInvocations show them:
 * Pending until the agent takes it, InProgress while it runs (and across a 194 reboot, after which the agent
 * runs the plugin again: runpluginutil.RunPlugins resets SuccessAndReboot to InProgress), then Success, Failed,
 * Cancelled, or TimedOut with StatusDetails ExecutionTimedOut (the agent's 137) or DeliveryTimedOut (never
 * taken within the command's TimeoutSeconds; ResponseCode -1).
 */
import { SERVICE_STDERR_LIMIT } from './output';
import type { cancelFlag, PluginResult } from './plugin';

export interface Invocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  comment: string;
  parameters: Record<string, string[] | undefined>;
  deliveryTimeoutSeconds: number;
  requestedAt: Date;
  /** GetCommandInvocation answers InvocationDoesNotExist this many more times (the race right after SendCommand). */
  invisiblePolls: number;
  state: 'Pending' | 'InProgress' | 'DeliveryTimedOut' | 'CancelledBeforeDelivery' | 'Finished';
  result?: PluginResult;
  reboots: number;
  startedAt?: Date;
  endedAt?: Date;
  cancel: ReturnType<typeof cancelFlag>;
  done: Promise<void>;
}

interface ServiceStatus {
  Status: string;
  StatusDetails: string;
  ResponseCode: number;
}

function serviceStatus(invocation: Invocation): ServiceStatus {
  switch (invocation.state) {
    case 'Pending':
      return { Status: 'Pending', StatusDetails: 'Pending', ResponseCode: -1 };
    case 'InProgress':
      return { Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 };
    case 'DeliveryTimedOut':
      return { Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 };
    case 'CancelledBeforeDelivery':
      return { Status: 'Cancelled', StatusDetails: 'Cancelled', ResponseCode: -1 };
    case 'Finished': {
      const { status, code } = invocation.result!;
      if (status === 'TimedOut') return { Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ResponseCode: code };
      return { Status: status, StatusDetails: status, ResponseCode: code };
    }
  }
}

export function pluginName(documentName: string): string {
  return documentName === 'AWS-ConfigureAWSPackage' ? 'configurePackage' : 'aws:runShellScript';
}

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

function output(invocation: Invocation): { stdout: string; stderr: string } {
  const result = invocation.state === 'Finished' ? invocation.result : undefined;
  return { stdout: result?.stdout ?? '', stderr: (result?.stderr ?? '').slice(0, SERVICE_STDERR_LIMIT) };
}

/** The GetCommandInvocation answer. */
export function invocationView(invocation: Invocation): Record<string, unknown> {
  const { stdout, stderr } = output(invocation);
  return {
    CommandId: invocation.commandId,
    InstanceId: invocation.instanceId,
    Comment: invocation.comment,
    DocumentName: invocation.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: pluginName(invocation.documentName),
    ...serviceStatus(invocation),
    ExecutionStartDateTime: invocation.startedAt?.toISOString() ?? '',
    ExecutionEndDateTime: invocation.endedAt?.toISOString() ?? '',
    StandardOutputContent: stdout,
    StandardOutputUrl: '',
    StandardErrorContent: stderr,
    StandardErrorUrl: '',
  };
}

/** One CommandInvocation of ListCommandInvocations; with Details, its plugin and the plugin's output. */
export function listedInvocationView(invocation: Invocation, details: boolean): Record<string, unknown> {
  const status = serviceStatus(invocation);
  const { stdout } = output(invocation);
  return {
    CommandId: invocation.commandId,
    InstanceId: invocation.instanceId,
    InstanceName: '',
    Comment: invocation.comment,
    DocumentName: invocation.documentName,
    DocumentVersion: '$DEFAULT',
    RequestedDateTime: epochSeconds(invocation.requestedAt),
    Status: status.Status,
    StatusDetails: status.StatusDetails,
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    CommandPlugins: details
      ? [
          {
            Name: pluginName(invocation.documentName),
            ...status,
            ResponseStartDateTime: epochSeconds(invocation.startedAt),
            ResponseFinishDateTime: epochSeconds(invocation.endedAt),
            // CommandPlugin.Output holds at most 2,500 characters (the API reference's length constraint).
            Output: stdout.slice(0, 2500),
          },
        ]
      : [],
  };
}
