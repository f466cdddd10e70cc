import { createDoctorActivities, DoctorDeps } from './doctor';

export type ActivityDeps = DoctorDeps;

/** Every activity the worker registers, built from injected dependencies so tests can hand in their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDoctorActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
