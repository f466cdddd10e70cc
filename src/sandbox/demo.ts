/**
 * Local stand-ins for a Proxmox node and an AWS account, built from the same sandboxes the tests use, so the
 * demo runs the real workflows and activities against real files, real user namespaces and real mount
 * namespaces on one Linux machine.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFakeEfs, createInstanceSandbox, destroyAllSandboxes, FakeEfs, InstanceSandbox, sandboxUnavailableReason } from './instanceSandbox';
import { launchInstances, motoClients, MotoServer, startMoto } from './moto';
import { SsmAgentEmulator, startSsmAgentEmulator } from './ssmAgentEmulator';

export const STAND_IN_PCT = path.resolve(__dirname, '..', '..', 'src', 'sandbox', 'bin', 'pct');

/** What the demo needs from the machine, each with how to get it. */
export function demoPrerequisites(): string[] {
  const missing: string[] = [];
  const reason = sandboxUnavailableReason();
  if (reason) missing.push(`${reason}: run the demo as root on Linux`);
  const has = (command: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
  for (const [command, fix] of [
    ['unshare', 'apt-get install util-linux'],
    ['nsenter', 'apt-get install util-linux'],
    ['newuidmap', 'apt-get install uidmap'],
    ['moto_server', 'pip install "moto[server]"'],
  ]) {
    if (!has(command)) missing.push(`${command} not found: ${fix} (or run scripts/install-system-deps.sh)`);
  }
  return missing;
}

export interface DemoNode {
  dir: string;
  pveDir: string;
  runningDir: string;
  pctLog: string;
  configFile: string;
  volumePath: string;
  /** Runs `sh -c script` as root of a container, in a user namespace built from its idmap. */
  asContainerRoot(ctid: 950 | 951, script: string, ...args: string[]): { ok: boolean; output: string };
}

/** CT 950 with Proxmox's implicit default map, CT 951 with the same map written out as lxc.idmap lines. */
export function buildDemoNode(): DemoNode {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-demo-'));
  fs.chmodSync(dir, 0o755);
  const pveDir = path.join(dir, 'pve');
  const runningDir = path.join(pveDir, 'running');
  fs.mkdirSync(path.join(pveDir, 'lxc'), { recursive: true });
  fs.mkdirSync(runningDir);
  fs.writeFileSync(path.join(pveDir, 'lxc', '950.conf'), 'arch: amd64\nhostname: vllm-a\nunprivileged: 1\nmp0: /srv/scratch,mp=/scratch\n');
  fs.writeFileSync(
    path.join(pveDir, 'lxc', '951.conf'),
    ['arch: amd64', 'hostname: vllm-b', 'unprivileged: 1', 'lxc.idmap: u 0 100000 65536', 'lxc.idmap: g 0 100000 65536', ''].join('\n'),
  );
  fs.writeFileSync(path.join(runningDir, '950'), '');
  const volumePath = path.join(dir, 'fastData', 'vllm_models');
  fs.mkdirSync(path.join(volumePath, 'llama', 'shards'), { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(volumePath, 'llama', 'shards', `part-${i}.bin`), 'weights');
  fs.writeFileSync(path.join(volumePath, 'README'), 'models shared by CT 950 and 951\n');
  // What Phoenix left behind: everything nobody:nogroup, read-only to container root.
  spawnSync('chown', ['-R', '65534:65534', volumePath]);
  fs.chmodSync(volumePath, 0o755);
  const configFile = path.join(dir, 'phoenix_hypervisor_config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify(
      {
        version: '1.0',
        nodes: { demo: { note: 'other Phoenix keys are left alone' } },
        shared_volumes: { vllm_models: { host_path: volumePath, owner: 'container_root', mounts: { '950': '/vllm_models', '951': '/vllm_models' } } },
      },
      null,
      2,
    ),
  );
  const maps = {
    950: ['--map-users=100000,0,65536', '--map-groups=100000,0,65536'],
    951: ['--map-users=100000,0,65536', '--map-groups=100000,0,65536'],
  };
  return {
    dir,
    pveDir,
    runningDir,
    pctLog: path.join(dir, 'pct.log'),
    configFile,
    volumePath,
    asContainerRoot(ctid, script, ...args) {
      const result = spawnSync('unshare', ['--user', ...maps[ctid], '--setuid', '0', '--setgid', '0', '--', 'sh', '-c', script, 'sh', ...args], {
        encoding: 'utf8',
      });
      return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
    },
  };
}

/** What a worker needs to act on this node: its pve dir, the stand-in pct (and its env), its running dir. */
export function nodeActivityDeps(node: Pick<DemoNode, 'pveDir' | 'pctLog' | 'runningDir'>) {
  return {
    pveDir: node.pveDir,
    pct: STAND_IN_PCT,
    pctEnv: { SHAREMOUNT_PVE_DIR: node.pveDir, SHAREMOUNT_PCT_LOG: node.pctLog },
    runningDir: node.runningDir,
  };
}

export interface DemoCloud {
  moto: MotoServer;
  emulator: SsmAgentEmulator;
  efs: FakeEfs;
  clients: ReturnType<typeof motoClients>;
  instanceIds: string[];
  sandboxes: InstanceSandbox[];
  destroy(): Promise<void>;
}

/**
 * moto for EFS/EC2/SSM, an SSM agent that runs commands in two instance sandboxes shaped like Ubuntu 24.04 and
 * Rocky 9 (named `<prefix>-ubuntu`, `<prefix>-rocky`); with accessPoints, their mount.efs honours `accesspoint=`.
 */
export async function buildDemoCloud(options: { prefix?: string; accessPoints?: boolean } = {}): Promise<DemoCloud> {
  const prefix = options.prefix ?? 'demo';
  const moto = await startMoto();
  let emulator: SsmAgentEmulator | undefined;
  const efs = createFakeEfs();
  try {
    emulator = await startSsmAgentEmulator({ motoEndpoint: moto.endpoint });
    const clients = motoClients(moto.endpoint, emulator.endpoint);
    const instanceIds = await launchInstances(clients.ec2, ['us-east-1a', 'us-east-1b']);
    const efsEndpoint = options.accessPoints ? moto.endpoint : undefined;
    const sandboxes = [
      // The stock images as they are: ubuntu and rocky are both UID 1000, which the mount reports as a collision.
      await createInstanceSandbox({ name: `${prefix}-ubuntu`, efsRoot: efs.root, image: 'ubuntu-24.04', efsEndpoint }),
      await createInstanceSandbox({ name: `${prefix}-rocky`, efsRoot: efs.root, image: 'rocky-9', efsEndpoint }),
    ];
    instanceIds.forEach((id, i) => emulator!.register(id, sandboxes[i]));
    const stopEmulator = emulator;
    return {
      moto,
      emulator,
      efs,
      clients,
      instanceIds,
      sandboxes,
      async destroy() {
        await stopEmulator.stop();
        await destroyAllSandboxes();
        efs.destroy();
        await moto.stop();
      },
    };
  } catch (error) {
    await emulator?.stop();
    await destroyAllSandboxes();
    efs.destroy();
    await moto.stop();
    throw error;
  }
}
