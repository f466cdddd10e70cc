import * as fs from 'node:fs';
import { Command } from 'commander';
import { readLxcConfigFile } from '../../host/lxcConfigFile';
import { lxcTaskQueue } from '../../domain/taskQueues';
import { generalTaskQueue } from '../../temporal/connection';
import { efsRunWorkflowId, lxcApplyWorkflowId } from '../../domain/workflowIds';
import type { DemoCloud, DemoNode } from '../../sandbox/demo';
import { freePort } from '../../temporal/devServer';
import { efsCreateWorkflow, efsMountWorkflow, lxcApplyWorkflow } from '../../workflows';
import { runSearchAttributes } from '../../workflows/definitions';
import { CliError, EXIT } from '../exitCodes';
import { paint } from '../output';
import { renderSummary, runWorkflow } from '../run';
import { renderEfsRun } from './efs';
import { openEmbeddedSession, Session } from '../session';

const NODE = 'demo';
const say = (text: string) => process.stdout.write(`${text}\n`);
const proof = (ok: boolean, text: string) => say(`  ${ok ? paint('green', '✔') : paint('red', '✘')} ${text}`);

/** The usual ports keep the UI link familiar; taken ones (a running `sharemount dev`) give way to free ones. */
async function portOr(preferred: number): Promise<number> {
  return (await isFree(preferred)) ? preferred : freePort();
}

async function isFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function lxcAct(session: Session, node: DemoNode, json: boolean): Promise<boolean> {
  say(paint('bold', '\n1. Proxmox LXC: a model store shared by CT 950 and CT 951 (unprivileged)'));
  const before = node.asContainerRoot(950, 'touch "$1"/written-by-ct950', node.volumePath);
  proof(!before.ok, `before: root in CT 950 cannot write to the volume (${before.output.split('\n')[0] || 'refused'})`);
  const config = readLxcConfigFile(node.configFile);
  const code = await runWorkflow(
    session,
    lxcApplyWorkflow,
    {
      taskQueue: lxcTaskQueue(NODE),
      workflowId: lxcApplyWorkflowId(NODE),
      args: [{ node: NODE, volumes: config.volumes, fixDrift: false, fullScan: false }],
      staticSummary: `demo: LXC apply of vllm_models to CT 950, 951 on node ${NODE}`,
      typedSearchAttributes: runSearchAttributes('lxc', ['vllm_models'], ['ct950', 'ct951']),
    },
    { json, render: renderSummary },
  );
  const after = node.asContainerRoot(950, 'echo hello > "$1"/written-by-ct950', node.volumePath);
  proof(after.ok, `after: root in CT 950 writes ${node.volumePath}/written-by-ct950`);
  const read = node.asContainerRoot(951, 'cat "$1"/written-by-ct950', node.volumePath);
  proof(read.ok && read.output === 'hello', 'root in CT 951 (explicit lxc.idmap lines) reads it');
  const conf = fs.readFileSync(`${node.pveDir}/lxc/950.conf`, 'utf8');
  proof(/^mp1: .*vllm_models,mp=\/vllm_models$/m.test(conf), 'CT 950 got mp1 (mp0 was taken and left alone)');
  return code === EXIT.ok && after.ok && read.ok;
}

async function efsAct(session: Session, cloud: DemoCloud, json: boolean): Promise<boolean> {
  say(paint('bold', '\n2. AWS EFS: one file system, two instances shaped like Ubuntu 24.04 and Rocky 9 (ubuntu and rocky both UID 1000)'));
  const common = (action: 'create' | 'mount') => ({
    taskQueue: generalTaskQueue(),
    workflowId: efsRunWorkflowId(action, 'research'),
    typedSearchAttributes: runSearchAttributes('efs', ['research'], cloud.instanceIds),
  });
  let fileSystemId = '';
  const created = await runWorkflow(
    session,
    efsCreateWorkflow,
    { ...common('create'), args: [{ name: 'research', instanceIds: cloud.instanceIds }], staticSummary: 'demo: EFS create research' },
    {
      json,
      render: (r) => {
        fileSystemId = r.fileSystemId;
        return `${r.fileSystemId}: mount targets in ${r.mountTargets.map((t) => t.availabilityZone).join(', ')}`;
      },
    },
  );
  if (created !== EXIT.ok || !fileSystemId) return false;
  cloud.efs.fileSystem(fileSystemId);
  const mounted = await runWorkflow(
    session,
    efsMountWorkflow,
    {
      ...common('mount'),
      args: [{ volumeName: 'research', instanceIds: cloud.instanceIds, concurrency: 10 }],
      staticSummary: 'demo: EFS mount research on 2 instances',
    },
    { json, render: renderEfsRun },
  );
  const [ubuntu, rocky] = cloud.sandboxes;
  const wrote = await ubuntu.runAs('ubuntu', 'echo "from ubuntu" > /mnt/research/shared/notes.txt');
  proof(wrote.code === 0, 'ubuntu on instance 1 creates /mnt/research/shared/notes.txt');
  const appended = await rocky.runAs('rocky', 'echo "and rocky" >> /mnt/research/shared/notes.txt && cat /mnt/research/shared/notes.txt');
  proof(appended.code === 0 && appended.stdout.includes('and rocky'), 'rocky on instance 2 appends to it: the shared group and umask 002 at work');
  const fstab = await rocky.run('grep -c " /mnt/research " /etc/fstab');
  proof(fstab.stdout.trim() === '1', 'exactly one fstab line, with _netdev,tls');
  return mounted === EXIT.ok && wrote.code === 0 && appended.code === 0;
}

async function waitForEnter(url?: string): Promise<void> {
  if (!process.stdin.isTTY) return;
  say(`\nThe Web UI stays up until you press Enter: ${url}`);
  await new Promise<void>((resolve) => {
    process.stdin.resume();
    process.stdin.once('data', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  process.stdin.pause();
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run both backends end to end on this machine against local sandboxes (simulated Proxmox containers and EC2 instances), on the embedded dev server; cleans up after itself',
    )
    .option('--no-wait', 'do not keep the Web UI up at the end (the default on a terminal waits for Enter)')
    .option('--json', 'print each workflow result as JSON')
    .addHelpText(
      'after',
      '\nNeeds root on Linux (user and mount namespaces) and moto; scripts/install-system-deps.sh installs the rest.\n\nExample:\n  $ sudo sharemount demo',
    )
    .action(async (options: { wait: boolean; json?: boolean }) => {
      const { buildDemoCloud, buildDemoNode, demoPrerequisites, nodeActivityDeps } = await import('../../sandbox/demo');
      const missing = demoPrerequisites();
      if (missing.length) throw new CliError(`the demo cannot run here:\n  ${missing.join('\n  ')}`, EXIT.targetsFailed);
      const node = buildDemoNode();
      let cloud: DemoCloud | undefined;
      let session: Session | undefined;
      try {
        cloud = await buildDemoCloud();
        session = await openEmbeddedSession({
          port: await portOr(7233),
          uiPort: await portOr(8233),
          worker: {
            node: NODE,
            // The real activities, built by the worker, over the sandboxes' pct and AWS endpoints.
            activityDeps: { ...nodeActivityDeps(node), ...cloud.clients, pollIntervalMs: 300 },
          },
        });
        say(`Temporal dev server ${session.settings.address}, Web UI ${session.uiUrl}`);
        const lxcOk = await lxcAct(session, node, Boolean(options.json));
        const efsOk = await efsAct(session, cloud, Boolean(options.json));
        say(
          paint(
            'bold',
            `\nSee every step in the Web UI: ${session.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent('WorkflowId STARTS_WITH "sharemount-"')}`,
          ),
        );
        say(`The history stays in the embedded server's SQLite file; \`sharemount dev\` shows it again later.`);
        if (options.wait) await waitForEnter(session.uiUrl);
        process.exitCode = lxcOk && efsOk ? EXIT.ok : EXIT.targetsFailed;
      } finally {
        await session?.close();
        await cloud?.destroy();
        fs.rmSync(node.dir, { recursive: true, force: true });
        say('demo sandboxes removed');
      }
    });
}
