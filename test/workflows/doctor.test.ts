/** The doctor workflow's failure paths with a stub host inspection. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { doctorWorkflow } from '../../src/workflows';
import { EXECUTION_TIMEOUT, eventually, recorded, runFailure, uniqueName, untilCancelled, workflowHarness } from './stubs';

const harness = workflowHarness(['inspectHost']);
const facts = { hostname: 'pve1', kernelRelease: '6.8.12', tools: { pct: '/usr/sbin/pct' }, aws: {} };
const start = (taskQueue: string, backends: unknown) =>
  harness.client().workflow.start(doctorWorkflow, {
    taskQueue,
    workflowId: uniqueName('wf-doctor-'),
    args: [{ backends: backends as never }],
    workflowExecutionTimeout: EXECUTION_TIMEOUT,
  });

describe('doctor workflow with a stub host inspection', () => {
  test('bad input: an unknown backend fails the run at once, naming the field, and inspects nothing', async () => {
    const { activities, recorder } = recorded({ inspectHost: async () => facts });
    const failure = await harness.run(activities, async (taskQueue) => runFailure(await start(taskQueue, ['lxc', 'zfs'])));
    expect(failure).toMatchObject({ type: 'InputError', nonRetryable: true, details: [{ field: 'backends' }], message: expect.stringContaining('"zfs"') });
    expect(recorder.count('inspectHost')).toBe(0);
  });

  test('a failing inspection fails the run with its reason', async () => {
    const { activities } = recorded({
      inspectHost: async () => {
        throw ApplicationFailure.nonRetryable('cannot read /proc/version', 'HostUnreadable');
      },
    });
    const failure = await harness.run(activities, async (taskQueue) => runFailure(await start(taskQueue, ['lxc'])));
    expect(failure.cause).toMatchObject({ type: 'HostUnreadable', message: 'cannot read /proc/version' });
  });

  test('cancellation ends the run as cancelled and cancels the inspection', async () => {
    const { activities, recorder } = recorded({ inspectHost: untilCancelled });
    await harness.run(activities, async (taskQueue) => {
      const handle = await start(taskQueue, ['efs']);
      await eventually('the inspection to start', () => recorder.count('inspectHost') > 0);
      await handle.cancel();
      expect(await runFailure(handle)).toBeInstanceOf(CancelledFailure);
      await eventually('the inspection to see its cancellation', () => recorder.cancelled.includes('inspectHost'));
    });
  });
});
