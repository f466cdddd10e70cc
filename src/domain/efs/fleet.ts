/**
 * A fleet: the instances one run acts on, named by ID, by tag, or both. Tags are resolved when the run runs
 * (a schedule's next run finds the instances launched since), and each run is compared with the previous run
 * of the same volume to say which instances joined and which departed.
 */
import { InputError } from '../errors';
import { validateInstanceIds } from './names';
import { describeTagSelectors, type TagSelector } from './tagSelectors';

export interface FleetSelection {
  instanceIds: readonly string[];
  tags?: readonly TagSelector[];
}

/** The explicit IDs, checked; none at all is fine only when tags name the rest. */
export function validateFleetSelection(selection: FleetSelection, instanceField = '<instance-id>'): string[] {
  if (selection.instanceIds.length === 0) {
    if (selection.tags?.length) return [];
    throw new InputError(instanceField, 'name at least one instance, or select instances with --tag Key=Value');
  }
  return validateInstanceIds(selection.instanceIds, instanceField);
}

/** The selection in words, for summaries and schedule notes. */
export function fleetInWords(selection: FleetSelection): string {
  const parts = [...selection.instanceIds];
  if (selection.tags?.length) parts.push(`instances tagged ${describeTagSelectors(selection.tags)}`);
  return parts.join(', ');
}

export interface FleetChanges {
  /** Instances in this run that the previous run did not act on. */
  joined: string[];
  /** Instances the previous run acted on that this run's selection no longer names. */
  departed: string[];
}

/** Joined and departed against the previous run; with no previous run every instance has joined. */
export function fleetChanges(previous: readonly string[] | undefined, current: readonly string[]): FleetChanges {
  const before = new Set(previous ?? []);
  const now = new Set(current);
  return { joined: [...now].filter((id) => !before.has(id)).sort(), departed: [...before].filter((id) => !now.has(id)).sort() };
}

/**
 * The instances a previous run's result acted on, or undefined when there is none or it is not one: Temporal
 * hands a scheduled run the last completed run's result as it was stored, whatever version wrote it.
 */
export function previousFleetOf(lastResult: unknown): string[] | undefined {
  if (typeof lastResult !== 'object' || lastResult === null) return undefined;
  const instances = (lastResult as { instances?: unknown }).instances;
  if (!Array.isArray(instances)) return undefined;
  return instances
    .map((i) => (typeof i === 'object' && i !== null ? (i as { instanceId?: unknown }).instanceId : undefined))
    .filter((id): id is string => typeof id === 'string');
}
