/**
 * The Distributor route for amazon-efs-utils: AWS-ConfigureAWSPackage with action=Install on one instance,
 * for distributions whose own repositories have no amazon-efs-utils. Sent and polled like a step.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { commandTimeouts } from '../../domain/efs/commandTimeouts';
import { validatePackage } from '../../domain/efs/distributor';
import { validateInstanceId } from '../../domain/efs/names';
import { packageInstallFailure, packageInstallOutput, trimOutput } from '../../domain/efs/results';
import { OUTPUT_LIMIT, runSsmCommand, type SsmCommandOptions } from './ssmCommand';

export interface InstallPackageInput {
  instanceId: string;
  /** A Distributor package, e.g. AmazonEFSUtils. */
  packageName: string;
  /** A published version; the latest when left out. */
  version?: string;
  commandId?: string;
  deliveryTimeoutSeconds?: number;
}

export interface InstallPackageResult {
  instanceId: string;
  step: 'installPackage';
  commandId: string;
  exitCode: number;
  changed: string[];
  unchanged: string[];
  stdout: string;
  stderr: string;
}

export async function installPackage(
  ssm: SSMClient,
  input: InstallPackageInput,
  options: Omit<SsmCommandOptions, 'explainFailure'>,
): Promise<InstallPackageResult> {
  validateInstanceId(input.instanceId);
  validatePackage(input.packageName, input.version);
  // AWS-ConfigureAWSPackage has no executionTimeout parameter (the plugin's installer runs to its own end);
  // the delivery timeout still bounds a command the agent never takes.
  const timeouts = commandTimeouts({ deliveryTimeoutSeconds: input.deliveryTimeoutSeconds });
  const { commandId, invocation } = await runSsmCommand(
    ssm,
    {
      instanceId: input.instanceId,
      step: 'installPackage',
      commandId: input.commandId,
      documentName: 'AWS-ConfigureAWSPackage',
      parameters: { action: ['Install'], name: [input.packageName], ...(input.version ? { version: [input.version] } : {}) },
      timeouts,
    },
    { ...options, explainFailure: (stdout, stderr) => packageInstallFailure(input.packageName, `${stdout}\n${stderr}`) },
  );
  const stdout = invocation.StandardOutputContent ?? '';
  return {
    instanceId: input.instanceId,
    step: 'installPackage',
    commandId,
    exitCode: invocation.ResponseCode ?? 0,
    ...packageInstallOutput(input.packageName, stdout),
    stdout: trimOutput(stdout, OUTPUT_LIMIT),
    stderr: trimOutput(invocation.StandardErrorContent ?? '', OUTPUT_LIMIT),
  };
}
