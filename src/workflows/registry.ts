/**
 * The identity registry as a long-lived entity workflow: one per registry name (workflowIds.ts), holding every
 * person's UID and GID. Its state changes only through Updates, each checked by a validator first, so a bad
 * name or a taken UID is rejected before it is written to history; reads are queries. The rules live in
 * src/domain/identity/registry.ts; this file only holds the state and keeps its history bounded.
 *
 * Handlers are synchronous, so updates run one after another and two adds at the same moment can never be
 * given the same UID.
 */
import { allHandlersFinished, condition, continueAsNew, defineQuery, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RegistryConfig } from '../domain/identity/config';
import {
  addPerson,
  addPersonProblem,
  emptyRegistry,
  findPerson,
  listing,
  removePerson,
  removePersonProblem,
  type AddPersonRequest,
  type AddPersonResult,
  type Person,
  type RegistryState,
  type RemovePersonResult,
} from '../domain/identity/registry';
import { decide } from './decide';

export const addPersonUpdate = defineUpdate<AddPersonResult, [AddPersonRequest]>('addPerson');
export const removePersonUpdate = defineUpdate<RemovePersonResult, [{ name: string }]>('removePerson');
export const listQuery = defineQuery<ReturnType<typeof listing>>('list');
export const showQuery = defineQuery<Person | null, [string]>('show');

export interface RegistryInput {
  /** The registry's name, as in its workflow ID. */
  name: string;
  /** The ranges, used when the registry is first created. */
  config?: Partial<RegistryConfig>;
  /** Carried over by continue-as-new. */
  state?: RegistryState;
  /** Updates one run takes before it continues as new. */
  updatesPerRun?: number;
}

/** Each update adds a few events; 500 keeps a run's history far below Temporal's limits and quick to replay. */
export const DEFAULT_UPDATES_PER_RUN = 500;

/** A validator's rejection: thrown, never recorded. decide() gives it the InputError type and its field. */
function reject(problem: Error | undefined): void {
  if (problem)
    decide(() => {
      throw problem;
    });
}

export async function registryWorkflow(input: RegistryInput): Promise<never> {
  let state = input.state ?? decide(() => emptyRegistry(input.config));
  let updates = 0;
  const now = () => new Date().toISOString();

  setHandler(
    addPersonUpdate,
    (request) => {
      const next = decide(() => addPerson(state, request, now()));
      state = next.state;
      updates++;
      return next.result;
    },
    { validator: (request) => reject(addPersonProblem(state, request)) },
  );
  setHandler(
    removePersonUpdate,
    (request) => {
      const next = decide(() => removePerson(state, request?.name, now()));
      state = next.state;
      updates++;
      return next.result;
    },
    { validator: (request) => reject(removePersonProblem(state, request?.name)) },
  );
  setHandler(listQuery, () => listing(state));
  setHandler(showQuery, (name) => findPerson(state, name) ?? null);

  const limit = input.updatesPerRun ?? DEFAULT_UPDATES_PER_RUN;
  await condition(() => updates >= limit || workflowInfo().continueAsNewSuggested);
  // Updates still running would be lost with this run; the handlers are synchronous, but the rule holds.
  await condition(allHandlersFinished);
  return continueAsNew<typeof registryWorkflow>({ name: input.name, state, updatesPerRun: input.updatesPerRun });
}
