import type { EC2Client } from '@aws-sdk/client-ec2';
import type { FleetSelection } from '../../domain/efs/fleet';
import { resolveTargets } from '../../host/aws/targets';
import { awsStep } from '../efs/failures';

export interface FleetActivityDeps {
  ec2: EC2Client;
}

/** Which instances a run acts on, asked of EC2 when the run runs. */
export function createFleetActivities(deps: FleetActivityDeps) {
  return {
    /** The explicit instance IDs plus the running Linux instances the tag selectors match now; changes nothing. */
    resolveTargets: (input: FleetSelection) => awsStep(() => resolveTargets(deps.ec2, input)),
  };
}
