import { createDoctorActivities, DoctorDeps } from './doctor';
import { createEfsActivities, EfsActivityDeps } from './efs';
import { createFleetActivities, FleetActivityDeps } from './fleet';
import { createIdentityActivities, IdentityActivityDeps } from './identity';
import { createLxcActivities, LxcDeps } from './lxc';

export type ActivityDeps = DoctorDeps & LxcDeps & EfsActivityDeps & FleetActivityDeps & IdentityActivityDeps;

/** Every activity the worker registers, built from injected dependencies so tests can hand in their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDoctorActivities(deps),
    ...createLxcActivities(deps),
    ...createEfsActivities(deps),
    ...createFleetActivities(deps),
    ...createIdentityActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
