import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { Backend, BACKENDS, buildReport, DoctorReport } from '../domain/doctor';
import { InputError, INPUT_FAILURE_TYPES } from '../domain/errors';
import { newTarget, RunProgress } from '../domain/progress';
import { decide } from './decide';
import { pathProblem } from '../domain/lxc/paths';
import { progressQuery } from './definitions';

const { inspectHost } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [...INPUT_FAILURE_TYPES] },
});

/** The CLI offers only BACKENDS (commander choices); another client's input is checked against the same list. */
function knownBackends(backends: unknown): Backend[] {
  if (!Array.isArray(backends) || backends.length === 0 || !backends.every((b) => BACKENDS.includes(b))) {
    throw new InputError('backends', `${JSON.stringify(backends)} is not a list of backends (${BACKENDS.join(', ')})`);
  }
  return backends;
}

/** The volume paths doctor looks at (from `doctor --config`), each checked as every host path is. */
function volumePaths(hostPaths: unknown): string[] {
  if (hostPaths === undefined) return [];
  if (!Array.isArray(hostPaths)) throw new InputError('hostPaths', `${JSON.stringify(hostPaths)} is not a list of host paths`);
  for (const hostPath of hostPaths) {
    const problem = pathProblem(hostPath, 'host path');
    if (problem) throw new InputError('hostPaths', `${JSON.stringify(hostPath)} ${problem}`);
  }
  return hostPaths as string[];
}

/** Checks what the worker's host offers for the chosen backends. Runs on the queue of the host to inspect. */
export async function doctorWorkflow(input: { backends: Backend[]; hostPaths?: string[] }): Promise<DoctorReport> {
  const backends = decide(() => knownBackends(input?.backends));
  const hostPaths = decide(() => volumePaths(input?.hostPaths));
  const progress: RunProgress = { backend: 'doctor', subject: backends.join('+'), targets: [newTarget('host', 1)], done: false };
  setHandler(progressQuery, () => progress);
  const host = progress.targets[0];
  host.state = 'running';
  host.step = 'inspectHost';
  const facts = await inspectHost.executeWithOptions({ summary: `inspect host for ${backends.join(', ')}` }, [hostPaths]);
  const report = decide(() => buildReport(facts, backends));
  Object.assign(host, { target: facts.hostname, state: report.ok ? 'ok' : 'failed', stepsDone: 1 });
  progress.done = true;
  return report;
}
