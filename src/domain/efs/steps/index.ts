/**
 * The EFS runbook, step by step, in the order the steps run: each step is one module beside this file with
 * its summary, its exit codes and its script (the frame they share is script.ts, the shell functions they
 * share fragments.ts).
 */
import { addUsers } from './addUsers';
import { ensureGroup } from './ensureGroup';
import { gatherInstanceFacts } from './gatherInstanceFacts';
import { installEfsUtils } from './installEfsUtils';
import { mountVolume } from './mountVolume';
import { persistFstab } from './persistFstab';
import { prepareLayout } from './prepareLayout';
import { provisionPeople } from './provisionPeople';
import { removeFstabLine } from './removeFstabLine';
import { renderStepScript, type EfsStepDefinition, type EfsStepSettings } from './script';
import { setUmask } from './setUmask';
import { unmountVolume } from './unmountVolume';

/**
 * gatherInstanceFacts changes nothing and runs on every instance before any other step does (the workflow
 * decides the install route and sees collisions from it). The fstab line is written only after the mount
 * worked, so a broken line never waits for the next boot.
 */
export const EFS_MOUNT_RUNBOOK = [gatherInstanceFacts, installEfsUtils, ensureGroup, addUsers, mountVolume, prepareLayout, persistFstab, setUmask] as const;
export const EFS_UNMOUNT_RUNBOOK = [unmountVolume, removeFstabLine] as const;

/** Steps only some mounts run (see mountRunbook). */
export const EFS_OPTIONAL_STEPS = [provisionPeople] as const;

export type EfsMountStep = (typeof EFS_MOUNT_RUNBOOK)[number]['name'];
export type EfsUnmountStep = (typeof EFS_UNMOUNT_RUNBOOK)[number]['name'];
export type EfsOptionalStep = (typeof EFS_OPTIONAL_STEPS)[number]['name'];
export type EfsStep = EfsMountStep | EfsUnmountStep | EfsOptionalStep;

export const EFS_MOUNT_STEPS: readonly EfsMountStep[] = EFS_MOUNT_RUNBOOK.map((step) => step.name);
export const EFS_UNMOUNT_STEPS: readonly EfsUnmountStep[] = EFS_UNMOUNT_RUNBOOK.map((step) => step.name);

/** Keyed by name, each entry typed by its own name, so a step filed under another's name does not compile. */
const STEPS: { [Name in EfsStep]: EfsStepDefinition<Name> } = {
  gatherInstanceFacts,
  installEfsUtils,
  ensureGroup,
  addUsers,
  mountVolume,
  prepareLayout,
  provisionPeople,
  persistFstab,
  setUmask,
  unmountVolume,
  removeFstabLine,
};

/** Through an access point EFS itself imposes the shared identity: no group, layout or umask to prepare. */
const ACCESS_POINT_RUNBOOK: readonly EfsStep[] = ['gatherInstanceFacts', 'installEfsUtils', 'mountVolume', 'persistFstab'];

/**
 * The steps a mount with these settings runs, in order: through an access point only the mount and its fstab
 * line; otherwise the whole runbook, with provisionPeople after the layout (it needs users/) when people are named.
 */
export function mountRunbook(settings: Pick<EfsStepSettings, 'accessPointId' | 'people'>): readonly EfsStep[] {
  if (settings.accessPointId !== undefined) return ACCESS_POINT_RUNBOOK;
  if (!settings.people?.length) return EFS_MOUNT_STEPS;
  const afterLayout = EFS_MOUNT_STEPS.indexOf('prepareLayout') + 1;
  return [...EFS_MOUNT_STEPS.slice(0, afterLayout), 'provisionPeople', ...EFS_MOUNT_STEPS.slice(afterLayout)];
}

export function efsStep(step: EfsStep): EfsStepDefinition<EfsStep> {
  return STEPS[step];
}

/** The step's script for these settings; the step's inputs validate them first (InputError names the field). */
export function buildStepScript(step: EfsStep, settings: EfsStepSettings): string {
  const definition = efsStep(step);
  return renderStepScript(definition, definition.inputs(settings));
}

export function stepSummary(step: EfsStep, settings: EfsStepSettings, instanceId: string): string {
  return efsStep(step).summary(settings, instanceId);
}
