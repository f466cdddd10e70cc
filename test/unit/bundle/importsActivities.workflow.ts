// A workflow that imports an activity module's code instead of its types.
import { resolveAwsIdentity } from '../../../src/activities/aws';

export async function makesClients(): Promise<boolean> {
  return typeof resolveAwsIdentity === 'function';
}
