import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { efsRunWorkflowId, lxcApplyWorkflowId, lxcVolumeWorkflowId } from '../../src/domain/workflowIds';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { makeTree, owner, pctCalls, scratchDir, STAND_IN_PCT } from '../integration/lxc-support';
import { runCli, type CliOptions } from '../support/cliProcess';
import { checkEfsFleet, makeEfsFleet, runAll, type EfsFleet } from '../support/fleet';
import { besideProcess, createClusterNetwork, makeClusterStore, onNode, type ClusterNetwork } from './nodes';
import { freeServerPort, makeCertificates, Postgres, Proc, spawnSharemount, startPostgres, startServer, waitFor } from './support';
import { EFS_MOUNT_STEPS } from '../../src/domain/efs/steps';

/**
 * The team shape without Docker, every part real: Debian's PostgreSQL, `sharemount server` (the Temporal
 * server built from its Go module, not the dev server), two Proxmox "nodes" (network namespaces reaching the
 * server over a veth pair, each with its worker, its view of one pmxcfs-like /etc/pve and its own pct), and a
 * general worker that mounts EFS volumes through moto and the SSM agent emulator, all separate processes
 * talking gRPC. The server is SIGKILLed in the middle of a run and restarted: the run completes from the
 * history PostgreSQL kept.
 */
describe('a cluster: PostgreSQL, sharemount server, a worker on each of two nodes, an EFS worker', () => {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-cluster-logs-'));
  const queue = `cluster-${process.pid}`;
  let pg: Postgres | undefined;
  let port: number;
  let server: Proc | undefined;
  let network: ClusterNetwork | undefined;
  let efs: EfsFleet | undefined;
  let env: Record<string, string>;
  let awsEnv: Record<string, string>;
  const workers: Proc[] = [];
  const nodeWorkers = new Map<string, Proc>();

  const names = [`pve-a${process.pid}`, `pve-b${process.pid}`];
  const unprivileged = 'arch: amd64\nunprivileged: 1\n';
  const store = makeClusterStore({
    [names[0]]: { 950: { conf: unprivileged, running: true }, 951: { conf: unprivileged } },
    [names[1]]: { 960: { conf: unprivileged, running: true }, 961: { conf: unprivileged } },
  });

  /** One Proxmox node: its two unprivileged containers, a volume of root-owned files on a local path, its pct. */
  function makeNode(name: string, ctids: [number, number]) {
    const pveDir = store.view(name);
    const base = scratchDir(`cluster-${name}`);
    const volumeName = `models_${name}`;
    const volume = path.join(base, volumeName);
    makeTree(volume, ['a.bin', 'sub/', 'sub/b.bin']);
    const config = path.join(base, 'phoenix_hypervisor_config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        version: '1',
        firewall_rules: [],
        shared_volumes: { [volumeName]: { host_path: volume, owner: 'container_root', mounts: { [ctids[0]]: '/models', [ctids[1]]: '/models' } } },
      }),
    );
    // The node's pct: the stand-in, behind a gate the restart test closes to hold a run in mid-flight.
    const gate = path.join(base, 'gate-open');
    fs.writeFileSync(gate, '');
    const pct = path.join(base, 'pct');
    fs.writeFileSync(
      pct,
      `#!/bin/sh\nif [ "$1" = set ] && [ ! -e "${gate}" ]; then : > "${gate}.waiting"; while [ ! -e "${gate}" ]; do sleep 0.1; done; fi\nexec "${STAND_IN_PCT}" "$@"\n`,
      { mode: 0o755 },
    );
    const pctLog = path.join(pveDir, 'pct.log');
    const nodeEnv = { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: pctLog, SHAREMOUNT_PCT_NODE: name };
    const flags = ['--config', config, '--node', name, '--pve-dir', pveDir, '--pct', pct];
    return { name, pveDir, base, volume, volumeName, config, gate, pct, pctLog, nodeEnv, flags, ctids };
  }
  const nodes = [makeNode(names[0], [950, 951]), makeNode(names[1], [960, 961])];
  const cli = (args: string[], extra: Record<string, string> = {}, options: CliOptions = {}) => runCli(args, { ...env, ...extra }, options);
  const restartServer = (name: string) => startServer(pg!.url(), port, logDir, name, ['--ip', network!.serverIp]);

  beforeAll(async () => {
    network = createClusterNetwork(nodes.length);
    pg = await startPostgres();
    port = await freeServerPort();
    server = await restartServer('server');
    env = { TEMPORAL_ADDRESS: `${network.serverIp}:${port}`, SHAREMOUNT_TASK_QUEUE: queue };
    for (const [index, node] of nodes.entries()) {
      const worker = spawnSharemount(
        ['worker', '--node', node.name, '--no-general', '--pve-dir', node.pveDir, '--pct', node.pct],
        { ...env, ...node.nodeEnv },
        logDir,
        `worker-${node.name}`,
        { wrapper: onNode(network.nodes[index].namespace, store.storageMount, store.sharedDir) },
      );
      workers.push(worker);
      nodeWorkers.set(node.name, worker);
    }
    efs = await makeEfsFleet(`cluster${process.pid}`, 2);
    awsEnv = {
      AWS_ENDPOINT_URL: efs.moto.endpoint,
      AWS_ENDPOINT_URL_SSM: efs.emulator.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    workers.push(spawnSharemount(['worker'], { ...env, ...awsEnv }, logDir, 'worker-general'));
    await Promise.all(
      workers.map((w) =>
        waitFor(
          `${w.log} to say it polls`,
          () => {
            if (w.child.exitCode !== null) throw new Error(`${w.log}: the worker exited with ${w.child.exitCode}:\n${w.output().slice(-3000)}`);
            return w.output().includes('polling') || undefined;
          },
          60_000,
        ),
      ),
    );
  }, 300_000);

  afterAll(async () => {
    await runAll([
      ...workers.map((w) => async () => void (await w.kill('SIGKILL'))),
      async () => void (await server?.kill('SIGTERM')),
      () => pg?.stop(),
      () => efs?.cleanup(),
      () => network?.remove(),
      () => store.remove(),
      () => nodes.forEach((node) => fs.rmSync(node.base, { recursive: true, force: true })),
    ]);
    if (process.env.SHAREMOUNT_KEEP_LOGS) process.stdout.write(`cluster logs kept in ${logDir}\n`);
    else fs.rmSync(logDir, { recursive: true, force: true });
  }, 60_000);

  it('is the real server on PostgreSQL: both databases exist with their schemas, and it is not the dev server', async () => {
    const psql = (database: string, sql: string) => execFileSync('psql', [pg!.url(database), '-Atc', sql], { encoding: 'utf8' }).trim();
    expect(psql('temporal', "select count(*) > 10 from information_schema.tables where table_schema = 'public'")).toBe('t');
    expect(psql('temporal_visibility', "select count(*) from information_schema.tables where table_name = 'executions_visibility'")).toBe('1');
    expect(psql('temporal', 'select curr_version from schema_version')).toMatch(/^1\.\d+$/);
    // The namespace sharemount server registered lives in PostgreSQL, not in a SQLite file.
    expect(psql('temporal', "select count(*) from namespaces where name = 'default'")).toBe('1');
    expect(server!.output()).toContain(`Temporal server: ${network!.serverIp}:${port}`);
  });

  it('serves the Web UI next to it, talking to this server', async () => {
    const response = await fetch(`http://${network!.serverIp}:${port + 20}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<html/i);
    // Through the UI's own API, to this server: the namespace `sharemount server` registered is there.
    const namespaces = await fetch(`http://${network!.serverIp}:${port + 20}/api/v1/namespaces`);
    expect(namespaces.status).toBe(200);
    const body = (await namespaces.json()) as { namespaces: Array<{ namespaceInfo: { name: string } }> };
    expect(body.namespaces.map((n) => n.namespaceInfo.name)).toContain('default');
  });

  it('each node applies its own volume through its own worker and /etc/pve', async () => {
    for (const node of nodes) {
      const result = await cli(['lxc', 'apply', ...node.flags, '--json'], node.nodeEnv);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      expect(owner(path.join(node.volume, 'sub', 'b.bin'))).toBe('100000:100000');
      for (const ctid of node.ctids)
        expect(fs.readFileSync(path.join(node.pveDir, 'lxc', `${ctid}.conf`), 'utf8')).toMatch(new RegExp(`mp\\d+: ${node.volume},mp=/models`));
    }
    // Each node's pct was called for its own containers only.
    for (const [index, node] of nodes.entries()) {
      const other = nodes[1 - index];
      const touched = new Set(pctCalls(node.pctLog).map((call) => Number(call[1])));
      for (const ctid of other.ctids) expect(touched.has(ctid)).toBe(false);
    }
  });

  it('a volume on shared storage whose containers live on both nodes: each bound by its own node, the walk once', async () => {
    const [a, b] = nodes;
    const volumeName = `across_${process.pid}`;
    const hostPath = path.join(store.storageMount, volumeName);
    makeTree(path.join(store.sharedDir, volumeName), ['m.bin', 'd/', 'd/n.bin']);
    const mounts = Object.fromEntries([...a.ctids, ...b.ctids].map((ctid) => [ctid, '/across']));
    const config = path.join(a.base, 'across_config.json');
    fs.writeFileSync(config, JSON.stringify({ version: '1', shared_volumes: { [volumeName]: { host_path: hostPath, owner: 'container_root', mounts } } }));
    const callsBefore = nodes.map((node) => pctCalls(node.pctLog).length);

    // As an operator runs it: on node a, whose /mnt/pve has the storage mounted; the host has no such path.
    expect(fs.existsSync(hostPath)).toBe(false);
    const result = await cli(['lxc', 'apply', '--config', config, '--node', a.name, '--pve-dir', a.pveDir, '--pct', a.pct, '--json'], a.nodeEnv, {
      wrapper: besideProcess(nodeWorkers.get(a.name)!.child.pid!),
    });
    expect(`exit ${result.code}\n${result.stdout}${result.stderr}`).toMatch(/^exit 0\n/); // a failure shows what the CLI said

    expect(owner(path.join(store.sharedDir, volumeName, 'd', 'n.bin'))).toBe('100000:100000');
    for (const node of nodes)
      for (const ctid of node.ctids)
        expect(store.conf(node.name, ctid)).toMatch(new RegExp(`^mp\\d+: ${hostPath},mp=/across,mountoptions=nosuid;nodev,shared=1$`, 'm'));
    // Each node's pct set only its own containers, and did set them.
    for (const [index, node] of nodes.entries()) {
      const sets = pctCalls(node.pctLog)
        .slice(callsBefore[index])
        .filter((call) => call[0] === 'set');
      expect([...new Set(sets.map((call) => Number(call[1])))].sort()).toEqual(node.ctids);
    }
    // The history says where each step ran: the walk once, on node a; each container's bind on its node's queue.
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    try {
      const history = await new Client({ connection }).workflow.getHandle(lxcVolumeWorkflowId(a.name, volumeName)).fetchHistory();
      const scheduled = (history.events ?? []).flatMap((event) => {
        const attributes = event.activityTaskScheduledEventAttributes;
        if (!attributes) return [];
        const input = JSON.parse(Buffer.from(attributes.input?.payloads?.[0]?.data ?? []).toString() || 'null') as { ctid?: number } | null;
        return [{ type: attributes.activityType?.name, queue: attributes.taskQueue?.name, ctid: input?.ctid }];
      });
      expect(scheduled.filter((s) => s.type === 'applyOwnership').map((s) => s.queue)).toEqual([lxcTaskQueue(a.name)]);
      const binds = Object.fromEntries(scheduled.filter((s) => s.type === 'bindMountPoint').map((s) => [s.ctid, s.queue]));
      expect(binds).toEqual(Object.fromEntries(nodes.flatMap((node) => node.ctids.map((ctid) => [ctid, lxcTaskQueue(node.name)]))));
    } finally {
      await connection.close();
    }
  });

  it('a volume on a local path with containers on both nodes is refused before anything changes, saying why', async () => {
    const [a, b] = nodes;
    const volumeName = `local_${process.pid}`;
    const hostPath = path.join(a.base, volumeName);
    makeTree(hostPath, ['l.bin']);
    const config = path.join(a.base, 'local_across_config.json');
    const mounts = { [a.ctids[0]]: '/local', [b.ctids[0]]: '/local' };
    fs.writeFileSync(config, JSON.stringify({ version: '1', shared_volumes: { [volumeName]: { host_path: hostPath, owner: 'container_root', mounts } } }));
    const confsBefore = nodes.map((node) => node.ctids.map((ctid) => store.conf(node.name, ctid)));
    const setsBefore = nodes.map((node) => pctCalls(node.pctLog).filter((call) => call[0] === 'set').length);

    const result = await cli(['lxc', 'apply', '--config', config, '--node', a.name, '--pve-dir', a.pveDir, '--pct', a.pct], a.nodeEnv, {
      wrapper: besideProcess(nodeWorkers.get(a.name)!.child.pid!),
    });
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toContain(`${hostPath} is not on storage that storage.cfg marks shared`);
    expect(result.stdout + result.stderr).toContain(`CT ${b.ctids[0]} on ${b.name}`);
    expect(owner(path.join(hostPath, 'l.bin'))).toBe('0:0');
    expect(nodes.map((node) => node.ctids.map((ctid) => store.conf(node.name, ctid)))).toEqual(confsBefore);
    expect(nodes.map((node) => pctCalls(node.pctLog).filter((call) => call[0] === 'set').length)).toEqual(setsBefore);
  });

  it('an EFS volume is mounted on two instances through the cluster, by the general worker', async () => {
    const fleet = efs!;
    const sentBefore = fleet.emulator.sent.length;
    const result = await cli(['efs', 'mount', fleet.volumeName, ...fleet.instanceIds, '--json'], awsEnv);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const { result: run } = JSON.parse(result.stdout) as { result: { fileSystemId: string; instances: Array<{ instanceId: string; ok: boolean }> } };
    expect(run.fileSystemId).toBe(fleet.fileSystemId);
    expect(run.instances.map((i) => [i.instanceId, i.ok])).toEqual(fleet.instanceIds.map((id) => [id, true]));
    expect(fleet.emulator.sent.length - sentBefore).toBe(2 * EFS_MOUNT_STEPS.length); // the facts and 7 steps on each instance, each sent once
    expect(await checkEfsFleet(fleet)).toEqual({ notConverged: [], duplicates: [] });
    const listed = await waitFor(
      'the mount in visibility',
      async () => {
        const rows = JSON.parse((await cli(['list', '--volume', fleet.volumeName, '--json'])).stdout) as Array<{ workflowId: string }>;
        return rows.some((r) => r.workflowId === efsRunWorkflowId('mount', fleet.volumeName)) || undefined;
      },
      30_000,
    );
    expect(listed).toBe(true);
  }, 180_000);

  it('doctor runs on the general worker and setup-search-attributes finds them already registered', async () => {
    const doctor = await cli(['doctor', '--backend', 'efs', '--json']);
    expect([0, 1]).toContain(doctor.code);
    expect(JSON.parse(doctor.stdout).result.backends).toEqual(['efs']);
    const attributes = await cli(['setup-search-attributes', '--json']);
    expect(attributes.code).toBe(0);
    expect(JSON.parse(attributes.stdout)).toEqual({ namespace: 'default', added: [], present: ['ShareMountVolume', 'ShareMountBackend', 'ShareMountTargets'] });
  });

  it('list --volume filters through SQL visibility', async () => {
    const [a, b] = nodes;
    const listed = await waitFor(
      'both volumes in visibility',
      async () => {
        const rows = JSON.parse((await cli(['list', '--volume', a.volumeName, '--json'])).stdout) as Array<{ workflowId: string; volume: string }>;
        return rows.length ? rows : undefined;
      },
      30_000,
    );
    expect(listed.map((r) => r.volume)).toEqual(listed.map(() => a.volumeName));
    expect(listed.map((r) => r.workflowId)).toContain(lxcApplyWorkflowId(a.name));
    const other = JSON.parse((await cli(['list', '--volume', b.volumeName, '--json'])).stdout) as Array<{ workflowId: string }>;
    expect(other.map((r) => r.workflowId)).not.toContain(lxcApplyWorkflowId(a.name));
    expect(JSON.parse((await cli(['list', '--volume', 'no_such_volume', '--json'])).stdout)).toEqual([]);
  });

  it('a run survives a SIGKILLed server: restarted on the same databases, it completes from PostgreSQL', async () => {
    const node = nodes[0];
    // A fresh target for the run: a second volume directory bound to the same containers at another path.
    const volumeName = `late_${process.pid}`;
    const volume = path.join(node.base, volumeName);
    makeTree(volume, ['x.bin']);
    const config = JSON.parse(fs.readFileSync(node.config, 'utf8'));
    config.shared_volumes[volumeName] = { host_path: volume, owner: 'container_root', mounts: { [node.ctids[0]]: '/late', [node.ctids[1]]: '/late' } };
    fs.writeFileSync(node.config, JSON.stringify(config));
    fs.rmSync(node.gate);

    const started = await cli(['lxc', 'apply', ...node.flags, '--volume', volumeName, '--detach', '--json'], node.nodeEnv);
    expect(started.code).toBe(0);
    const { workflowId } = JSON.parse(started.stdout);
    // The worker is inside `pct set`, held at the gate: the run is mid-flight when the server dies.
    await waitFor('the run to reach pct set', () => fs.existsSync(`${node.gate}.waiting`) || undefined, 60_000);
    await server!.kill('SIGKILL');
    const down = await cli(['status', workflowId, '--json']);
    expect(down.code).toBe(3);

    server = await restartServer('server-restarted');
    fs.writeFileSync(node.gate, '');
    const watched = await cli(['watch', workflowId, '--json'], node.nodeEnv);
    expect({ code: watched.code, stderr: watched.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(JSON.parse(watched.stdout).workflowId).toBe(workflowId);
    expect(owner(path.join(volume, 'x.bin'))).toBe('100000:100000');
    for (const ctid of node.ctids) expect(fs.readFileSync(path.join(node.pveDir, 'lxc', `${ctid}.conf`), 'utf8')).toContain(`${volume},mp=/late`);
    // The first server's history was found by the second: the earlier applies are still listed.
    const rows = JSON.parse((await cli(['list', '--volume', nodes[1].volumeName, '--json'])).stdout) as unknown[];
    expect(rows.length).toBeGreaterThan(0);
  }, 300_000);

  it('a schedule fires on its own and its run converges the node', async () => {
    const node = nodes[1];
    const name = `every-minute-${process.pid}`;
    const created = await cli(['schedule', 'create', name, 'lxc', '--config', node.config, '--node', node.name, '--every', '1m', '--json']);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    fs.lchownSync(path.join(node.volume, 'a.bin'), 0, 0);
    try {
      const run = await waitFor(
        'the schedule to fire and its run to complete',
        async () => {
          const described = JSON.parse((await cli(['schedule', 'describe', name, '--json'])).stdout) as { runs: Array<{ status: string }> };
          return described.runs.find((r) => r.status === 'COMPLETED');
        },
        150_000,
      );
      expect(run.status).toBe('COMPLETED');
      expect(owner(path.join(node.volume, 'a.bin'))).toBe('100000:100000');
    } finally {
      await cli(['schedule', 'delete', name]);
    }
  }, 200_000);
});

/** The TEMPORAL_TLS_* settings against a server that demands client certificates made here. */
describe('mutual TLS between the CLI, a worker and sharemount server', () => {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-tls-logs-'));
  const certs = makeCertificates(path.join(logDir, 'certs'));
  let pg: Postgres;
  let server: Proc;
  let worker: Proc | undefined;
  let address: string;
  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
    TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    SHAREMOUNT_TASK_QUEUE: `tls-${process.pid}`,
  });

  beforeAll(async () => {
    pg = await startPostgres();
    const port = await freeServerPort();
    address = `127.0.0.1:${port}`;
    const tlsFlags = ['--tls-cert', certs.server.cert, '--tls-key', certs.server.key, '--tls-ca', certs.ca, '--tls-server-name', certs.serverName];
    server = await startServer(pg.url('tls'), port, logDir, 'server', [...tlsFlags, '--no-ui']);
  }, 300_000);

  afterAll(async () => {
    await runAll([
      async () => void (await worker?.kill('SIGKILL')),
      async () => void (await server?.kill('SIGTERM')),
      () => pg?.stop(),
      () => fs.rmSync(logDir, { recursive: true, force: true }),
    ]);
  }, 60_000);

  it('keeps its history in the databases the --db URL names', () => {
    expect(server.output()).toContain('mutual TLS');
    expect(server.output()).toMatch(/PostgreSQL 127\.0\.0\.1:\d+\/tls/);
  });

  it('a worker and the CLI with a client certificate get through; without one, or plaintext, they are refused', async () => {
    worker = spawnSharemount(['worker'], tlsEnv(), logDir, 'worker');
    await waitFor(`${worker.log} to say it polls`, () => worker!.output().includes('polling') || undefined, 60_000);
    const doctor = await runCli(['doctor', '--backend', 'efs', '--json'], tlsEnv());
    expect([0, 1]).toContain(doctor.code);
    expect(JSON.parse(doctor.stdout).result.backends).toEqual(['efs']);

    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...withoutClientCert } = tlsEnv();
    const refused = await runCli(['list', '--limit', '1'], withoutClientCert, { timeoutMs: 30_000 });
    expect(refused.code).toBe(3);
    const plaintext = await runCli(['list', '--limit', '1'], { TEMPORAL_ADDRESS: address }, { timeoutMs: 30_000 });
    expect(plaintext.code).toBe(3);
    const listed = await runCli(['list', '--limit', '5', '--json'], tlsEnv());
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).length).toBeGreaterThan(0);
  }, 180_000);
});
