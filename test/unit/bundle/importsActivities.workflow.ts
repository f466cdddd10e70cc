// A workflow that imports an activity module's code instead of its types.
import { createEfsActivities } from '../../../src/activities/efs';

export async function makesClients(): Promise<boolean> {
  return typeof createEfsActivities === 'function';
}
