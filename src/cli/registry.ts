/**
 * The CLI's side of the identity registry (src/workflows/registry.ts): adds through update-with-start, so the
 * first add creates the registry; removes through an update; reads through queries. Every call has a deadline,
 * so a registry whose worker is down ends in an error that says so instead of a hang. `efs mount --person`
 * resolves its people with lookupPeople.
 */
import { randomUUID } from 'node:crypto';
import {
  Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InputError } from '../domain/errors';
import type { RegistryConfig } from '../domain/identity/config';
import type { AddPersonRequest, AddPersonResult, Person, RemovePersonResult } from '../domain/identity/registry';
import { validatePersonName, validateRegistryName } from '../domain/identity/names';
import { registryWorkflowId } from '../domain/workflowIds';
import { generalTaskQueue } from '../temporal/connection';
import { addPersonUpdate, listQuery, registryWorkflow, removePersonUpdate, showQuery } from '../workflows/registry';
import { CliError, EXIT } from './exitCodes';

export type Listing = Awaited<ReturnType<typeof listRegistry>>;

/** Long enough for a worker restarted by systemd to pick the update up, short enough that nobody waits on a dead one. */
const DEADLINE_MS = Number(process.env.SHAREMOUNT_REGISTRY_TIMEOUT_MS ?? 90_000);

/**
 * Answers that mean "not recorded, ask again": the server refuses updates while the registry's workflow task
 * is failing or timing out (its worker was killed mid-task: FAILED_PRECONDITION, "Workflow Task in failed
 * state"), and it is unreachable while it restarts (UNAVAILABLE). Asking again is safe: an update carries the
 * same update ID on every attempt, so one that was in fact accepted is answered, not applied twice.
 */
function notRecordedYet(error: unknown): boolean {
  for (let e = error as { code?: number; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 14 /* UNAVAILABLE */ || /Workflow Task in failed state|could not be executed/.test(e.message ?? '')) return true;
  }
  return false;
}

async function withDeadline<T>(client: Client, registry: string, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.connection.withDeadline(deadline, call);
    } catch (error) {
      if (!notRecordedYet(error) || Date.now() + 1000 > deadline) throw registryError(error, registry);
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2000)));
    }
  }
}

/** A rejected update carries the validator's InputError (field and problem): it is bad input, exit 2. */
function registryError(error: unknown, registry: string): unknown {
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === 'InputError') {
    const detail = error.cause.details?.[0] as { field?: string; problem?: string } | undefined;
    return new InputError(detail?.field ?? '<name>', detail?.problem ?? error.cause.message);
  }
  if (error instanceof WorkflowNotFoundError) {
    return new CliError(
      `no registry named ${registry} yet: \`sharemount users add <name>${registry === 'default' ? '' : ` --registry ${registry}`}\` creates it`,
      EXIT.badInput,
    );
  }
  const e = error as { code?: number; message?: string };
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || e?.code === 4 /* DEADLINE_EXCEEDED */ || /deadline/i.test(e?.message ?? '')) {
    return new CliError(
      `registry ${registry} did not answer within ${DEADLINE_MS / 1000} s: no worker polls task queue ${generalTaskQueue()}; start one with \`sharemount worker\` or \`sharemount dev\``,
      EXIT.temporalUnreachable,
    );
  }
  return error;
}

export async function addToRegistry(
  client: Client,
  registry: string,
  request: AddPersonRequest & { config?: Partial<RegistryConfig> },
): Promise<AddPersonResult> {
  const name = validateRegistryName(registry);
  const startOperation = () =>
    new WithStartWorkflowOperation(registryWorkflow, {
      workflowId: registryWorkflowId(name),
      taskQueue: generalTaskQueue(),
      args: [{ name, config: request.config }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `identity registry ${name}`,
    });
  const updateId = randomUUID();
  // A WithStartWorkflowOperation is spent once used: each attempt gets its own, with the same update ID.
  return withDeadline(client, name, () =>
    client.workflow.executeUpdateWithStart(addPersonUpdate, { args: [request], updateId, startWorkflowOperation: startOperation() }),
  );
}

export async function removeFromRegistry(client: Client, registry: string, person: string): Promise<RemovePersonResult> {
  const name = validateRegistryName(registry);
  const updateId = randomUUID();
  return withDeadline(client, name, () =>
    client.workflow.getHandle(registryWorkflowId(name)).executeUpdate(removePersonUpdate, { args: [{ name: person }], updateId }),
  );
}

export async function listRegistry(client: Client, registry: string) {
  const name = validateRegistryName(registry);
  return withDeadline(client, name, () => client.workflow.getHandle(registryWorkflowId(name)).query(listQuery));
}

export async function showInRegistry(client: Client, registry: string, person: string): Promise<Person | null> {
  const name = validateRegistryName(registry);
  return withDeadline(client, name, () => client.workflow.getHandle(registryWorkflowId(name)).query(showQuery, person));
}

/**
 * The registered identity of each named person, for provisioning (`efs mount --person`): an unregistered name
 * is bad input naming the field, before anything is sent to an instance.
 */
export async function lookupPeople(client: Client, registry: string, names: readonly string[], field = '--person'): Promise<Person[]> {
  const people: Person[] = [];
  for (const person of new Set(names.map((n) => validatePersonName(n, field)))) {
    const found = await showInRegistry(client, registry, person);
    if (!found) throw new InputError(field, `${JSON.stringify(person)} is not in registry ${registry}; add them with \`sharemount users add ${person}\``);
    people.push(found);
  }
  return people;
}
