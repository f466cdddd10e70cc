/**
 * The bad-input corpus (test/fixtures/bad-input/): malformed configs for `lxc plan` / `lxc apply` and malformed
 * arguments for `efs mount`, each run through the real CLI (see runCase). Each must exit 2 with a message
 * naming the field, and nothing may change: a before/after snapshot of the sandbox (volume files, owners,
 * modes, container confs, the pct log) is identical, and no request reaches the AWS endpoint.
 *
 * Every config also holds one valid volume next to the broken entry, with a real worker polling the node's
 * queue: a file that were accepted in part would be applied, and the snapshot would show it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createLxcActivities } from '../../src/activities/lxc';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { makePveDir, makeTree, pctCalls, scratchDir, STAND_IN_PCT } from '../integration/lxc-support';
import { BinResult as CliResult, sharemount } from '../support/sharemountBin';
import { diffSnapshots, snapshot } from '../support/snapshot';
import { runCliInProcess } from '../support/cliInProcess';
import { testServerAddress, withWorker } from '../support/temporal';

/**
 * The corpus runs through the CLI's own main() in this process (hundreds of inputs, no Node start each);
 * the first cases of each kind also run through bin/sharemount as a child process, so exit codes and
 * stderr are proven at the process boundary too.
 */
const THROUGH_THE_BINARY = 2;
async function runCase(index: number, args: string[], env: Record<string, string>): Promise<CliResult> {
  return index < THROUGH_THE_BINARY ? sharemount(args, { env, timeoutMs: 60_000 }) : runCliInProcess(args, env);
}

const FIXTURES = path.resolve(__dirname, '../fixtures/bad-input');

/** Runs `job` over `items`, at most `limit` at once. */
async function pool<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await job(items[next++]);
    }),
  );
}

interface LxcCase {
  file: string | null;
  why: string;
  field: string;
  stage: 'parse' | 'plan';
  args?: string[];
}

interface EfsCase {
  id: string;
  why: string;
  field: string;
  args: string[];
}

const lxcCases = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'lxc', 'manifest.json'), 'utf8')) as LxcCase[];
const efsCases = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'efs-mount-args.json'), 'utf8')) as EfsCase[];

/** The field must be named: in stderr's `error: <field>: <problem>`, or in the plan's own error list. */
function namesField(result: CliResult, field: string): boolean {
  if (result.stderr.split('\n').some((line) => line.startsWith(`error: ${field}: `))) return true;
  // apply without --json prints the plan and its errors (`  error: <field>: <problem>`) before refusing.
  if (result.stdout.split('\n').some((line) => line.trim().startsWith(`error: ${field}: `))) return true;
  try {
    const plan = JSON.parse(result.stdout) as { volumes?: Array<{ errors?: Array<{ field: string; problem: string }> }> };
    return (plan.volumes ?? []).some((v) => (v.errors ?? []).some((e) => e.field === field && e.problem.length > 0));
  } catch {
    return result.stderr.includes(`${field}: `);
  }
}

describe('bad input corpus through the CLI: rejected, field named, nothing changed', () => {
  const base = scratchDir('badinput');
  const node = `badinput${process.pid}`;
  const store = path.join(base, 'store');
  makeTree(store, ['good/a/1', 'good/a/2', 'good/b', 'other/x/y', 'other/z']);
  // CT 101, 102: Proxmox default map; 103: a conf with mp0 twice; 104: root maps to 200000.
  const pveDir = makePveDir({
    101: { conf: 'arch: amd64\nunprivileged: 1\n', running: true },
    102: { conf: 'arch: amd64\nunprivileged: 1\n' },
    103: { conf: 'arch: amd64\nmp0: /srv/a,mp=/a\nmp0: /srv/b,mp=/b\nunprivileged: 1\n' },
    104: { conf: 'arch: amd64\nlxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\nunprivileged: 1\n' },
  });
  fs.renameSync(pveDir, path.join(base, 'pve'));
  const pve = path.join(base, 'pve');
  const pctLog = path.join(base, 'pct.log');
  const configs = path.join(base, 'configs');
  fs.mkdirSync(configs);
  const huge = path.join(configs, 'huge.json');
  // 5 MB: a valid-looking config padded with a long list of non-volume noise.
  fs.writeFileSync(huge, JSON.stringify({ padding: 'x'.repeat(5 * 1024 * 1024), shared_volumes: {} }));
  const fill = (text: string) => text.replaceAll('@SANDBOX@', base).replaceAll('@HUGE@', huge);
  const awsRequests: string[] = [];
  let aws: http.Server;
  let awsEndpoint = '';

  beforeAll(async () => {
    aws = http.createServer((req, res) => {
      awsRequests.push(`${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''}`);
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
    awsEndpoint = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => aws?.close(resolve));
    fs.rmSync(base, { recursive: true, force: true });
  });

  test(`the corpus is large and varied (${lxcCases.length} LXC configs, ${efsCases.length} EFS argument sets)`, () => {
    expect(lxcCases.length + efsCases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(lxcCases.map((c) => c.field.replace(/^shared_volumes\.[^.]+/, 'V'))).size).toBeGreaterThanOrEqual(8);
    expect(new Set(efsCases.map((c) => c.field)).size).toBeGreaterThanOrEqual(6);
  });

  test('every malformed LXC config is refused by plan and apply, naming the field; the sandbox is unchanged', async () => {
    const env = {
      TEMPORAL_ADDRESS: testServerAddress(),
      SHAREMOUNT_PVE_DIR: pve,
      SHAREMOUNT_PCT_LOG: pctLog,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: awsEndpoint,
    };
    const unwatched = (f: string) => f.startsWith(configs) || f === pctLog;
    const before = snapshot(base, unwatched);
    const files = lxcCases.map((c, i) => {
      if (!c.file) return undefined;
      const file = path.join(configs, c.file);
      fs.writeFileSync(file, fill(fs.readFileSync(path.join(FIXTURES, 'lxc', c.file), 'utf8')));
      return file ?? String(i);
    });
    const activities = createLxcActivities({
      pveDir: pve,
      pct: STAND_IN_PCT,
      pctEnv: { SHAREMOUNT_PVE_DIR: pve, SHAREMOUNT_PCT_LOG: pctLog },
      runningDir: path.join(pve, 'running'),
    });
    const failures: string[] = [];
    const counts = { cases: 0, runs: 0, refused: 0, fieldNamed: 0 };
    // A real worker serves the node's queue: anything the CLI wrongly started would really run.
    await withWorker({ taskQueue: lxcTaskQueue(node), activities }, () =>
      pool(lxcCases, 1, async (c) => {
        counts.cases++;
        const index = lxcCases.indexOf(c);
        const configArgs = c.args?.includes('--config') ? c.args.map(fill) : ['--config', files[index]!, ...(c.args ?? [])];
        const shared = [...configArgs, '--node', node, '--pve-dir', pve, '--pct', STAND_IN_PCT];
        for (const command of [
          ['lxc', 'plan', ...shared, '--json'],
          ['lxc', 'apply', ...shared, '--detach'],
        ]) {
          counts.runs++;
          const result = await runCase(index, command, env);
          const label = `${c.file ?? c.args?.join(' ')} (${c.why}) via ${command.slice(0, 2).join(' ')}`;
          if (result.code === 2) counts.refused++;
          else failures.push(`${label}: exit ${result.code}, stderr ${result.stderr.slice(0, 300)}`);
          if (namesField(result, c.field)) counts.fieldNamed++;
          else
            failures.push(
              `${label}: field ${c.field} not named: stderr ${JSON.stringify(result.stderr.slice(0, 400))} stdout ${JSON.stringify(result.stdout.slice(0, 300))}`,
            );
        }
      }),
    );
    const changed = diffSnapshots(before, snapshot(base, unwatched));
    expect(failures).toEqual([]);
    expect(changed).toEqual([]);
    // Reading a container's state (`pct status`, where no cgroup dir tells) is allowed; any other call is not.
    const calls = pctCalls(pctLog);
    expect(calls.filter((argv) => argv[0] !== 'status')).toEqual([]);
    console.log(
      `SUMMARY ${JSON.stringify({ scenario: 'bad-input-lxc', ...counts, hostFilesChanged: changed.length, pctChangingCalls: 0, pctStatusCalls: calls.length })}`,
    );
  }, 420_000);

  test('every malformed efs mount argument is refused (dry run and real), naming the field; nothing reaches AWS', async () => {
    const env = {
      TEMPORAL_ADDRESS: testServerAddress(),
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    const failures: string[] = [];
    const counts = { cases: 0, runs: 0, refused: 0, fieldNamed: 0 };
    await pool(efsCases, 1, async (c) => {
      counts.cases++;
      const index = efsCases.indexOf(c);
      for (const extra of [['--dry-run'], ['--detach']]) {
        counts.runs++;
        const result = await runCase(index, ['efs', 'mount', ...c.args, ...extra], env);
        const label = `${c.id} (${c.why}) ${extra[0]}`;
        if (result.code === 2) counts.refused++;
        else failures.push(`${label}: exit ${result.code}, stderr ${result.stderr.slice(0, 300)}`);
        if (result.stderr.split('\n').some((line) => line.startsWith(`error: ${c.field}: `))) counts.fieldNamed++;
        else failures.push(`${label}: field ${c.field} not named: ${JSON.stringify(result.stderr.slice(0, 300))}`);
      }
    });
    expect(failures).toEqual([]);
    expect(awsRequests).toEqual([]);
    console.log(`SUMMARY ${JSON.stringify({ scenario: 'bad-input-efs', ...counts, awsRequests: awsRequests.length })}`);
  }, 420_000);
});
