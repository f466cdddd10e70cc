/** The step modules keep the promises of their frame (src/domain/efs/steps/script.ts). */
import { buildStepScript, efsStep, EFS_MOUNT_STEPS, EFS_UNMOUNT_STEPS, type EfsStep } from '../../../src/domain/efs/steps';
import { RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepSettings } from '../../../src/domain/efs/steps/script';

const STEPS: readonly EfsStep[] = [...EFS_MOUNT_STEPS, ...EFS_UNMOUNT_STEPS];
const one: EfsStepSettings = {
  fileSystemId: 'fs-0123456789abcdef0',
  mountPoint: '/mnt/research',
  group: 'prism-shared',
  gid: 3000,
  users: ['ubuntu'],
  iam: false,
};
const other: EfsStepSettings = { fileSystemId: 'fs-fedcba9876543210f', mountPoint: '/srv/other/place', group: 'team-b', gid: 4100, users: [], iam: true };

/** The script without its input assignments (and their shellcheck notes): the code, which must not vary. */
function afterAssignments(script: string): string {
  return script
    .split('\n')
    .filter((line) => !/^[A-Z_][A-Z0-9_]*='/.test(line) && !line.startsWith('# shellcheck disable=SC2016'))
    .join('\n');
}

describe('EFS step modules', () => {
  test('the runbooks hold each step once, mount steps in the order of the seed runbook after the read-only facts', () => {
    expect(EFS_MOUNT_STEPS).toEqual([
      'gatherInstanceFacts',
      'installEfsUtils',
      'ensureGroup',
      'addUsers',
      'mountVolume',
      'prepareLayout',
      'persistFstab',
      'setUmask',
    ]);
    expect(EFS_UNMOUNT_STEPS).toEqual(['unmountVolume', 'removeFstabLine']);
    for (const step of STEPS) expect(efsStep(step).name).toBe(step);
  });

  test.each(STEPS)('%s exits only with the codes it declares, and declares only codes it uses', (step) => {
    const script = buildStepScript(step, one);
    const used = new Set([...script.matchAll(/\bfail (\d+)\b/g)].map((m) => Number(m[1])));
    const declared = Object.keys(efsStep(step).exits).map((name) => STEP_EXIT_CODES[name as keyof typeof STEP_EXIT_CODES]);
    used.delete(RETRYABLE_EXIT_CODE);
    expect([...used].sort()).toEqual([...declared].sort());
    for (const code of declared) expect(script).toContain(`# exit ${code}: `);
  });

  test.each(STEPS)('%s: no value reaches the code, only the assignments change with the settings', (step) => {
    expect(afterAssignments(buildStepScript(step, one))).toBe(afterAssignments(buildStepScript(step, other)));
  });

  test.each(STEPS)('%s: the summary names the instance', (step) => {
    expect(efsStep(step).summary(one, 'i-0123456789abcdef0')).toContain('i-0123456789abcdef0');
  });
});
