import { SSMClient } from '@aws-sdk/client-ssm';
import type { HostFacts } from '../../domain/doctor';

export type AwsIdentity = HostFacts['aws'];

/**
 * Region and credential source from the standard AWS chain (env, shared files, SSO, instance role), without
 * calling AWS: doctor must answer on a host that cannot reach it.
 */
export async function resolveAwsIdentity(): Promise<AwsIdentity> {
  const client = new SSMClient({});
  try {
    let region: string | undefined;
    try {
      region = await client.config.region();
    } catch {
      region = undefined;
    }
    try {
      const credentials = await client.config.credentials();
      const source = process.env.AWS_ACCESS_KEY_ID ? 'environment' : process.env.AWS_PROFILE ? `profile ${process.env.AWS_PROFILE}` : 'default chain';
      return { region, credentialsSource: credentials.accessKeyId ? source : undefined };
    } catch (error) {
      return { region, problem: (error as Error).message.split('\n')[0] };
    }
  } finally {
    client.destroy();
  }
}
