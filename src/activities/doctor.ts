import { ApplicationFailure } from '@temporalio/common';
import type { HostFacts } from '../domain/doctor';
import { pathProblem } from '../domain/lxc/paths';
import { readHostFacts, type HostFactsOptions } from '../host/hostFacts';

export type DoctorDeps = HostFactsOptions;

export function createDoctorActivities(deps: DoctorDeps) {
  return {
    /** Reads what this worker's host offers (src/host/hostFacts.ts), and at each volume path; changes nothing. */
    async inspectHost(hostPaths: string[] = []): Promise<HostFacts> {
      for (const hostPath of hostPaths) {
        const problem = pathProblem(hostPath, 'host path');
        if (problem) throw ApplicationFailure.nonRetryable(`${hostPath} ${problem}`, 'InputError');
      }
      return readHostFacts(deps, hostPaths);
    },
  };
}
