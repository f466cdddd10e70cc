import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { Backend, buildReport, DoctorReport } from '../domain/doctor';
import { newTarget, RunProgress } from '../domain/progress';
import { progressQuery } from './definitions';

const { inspectHost } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** Checks what the worker's host offers for the chosen backends. Runs on the queue of the host to inspect. */
export async function doctorWorkflow(input: { backends: Backend[] }): Promise<DoctorReport> {
  const progress: RunProgress = { backend: 'doctor', subject: input.backends.join('+'), targets: [newTarget('host', 1)], done: false };
  setHandler(progressQuery, () => progress);
  const host = progress.targets[0];
  host.state = 'running';
  host.step = 'inspectHost';
  const facts = await inspectHost.executeWithOptions({ summary: `inspect host for ${input.backends.join(', ')}` },
    [],
  );
  const report = buildReport(facts, input.backends);
  Object.assign(host, { target: facts.hostname, state: report.ok ? 'ok' : 'failed', stepsDone: 1 });
  progress.done = true;
  return report;
}
