import type { HostFacts } from '../domain/doctor';
import { readHostFacts, type HostFactsOptions } from '../host/hostFacts';

export type DoctorDeps = HostFactsOptions;

export function createDoctorActivities(deps: DoctorDeps) {
  return {
    /** Reads what this worker's host offers (src/host/hostFacts.ts); changes nothing. */
    async inspectHost(): Promise<HostFacts> {
      return readHostFacts(deps);
    },
  };
}
