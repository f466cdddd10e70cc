/**
 * Every EFS step's script, run for real as root in instance sandboxes (mount namespaces with their own /etc,
 * /mnt and /run) shaped like stock images, sharing one directory that plays the file system.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseStepOutput, planEfsMount } from '../../src/domain/efs';
import { buildStepScript, EFS_MOUNT_STEPS, type EfsStep } from '../../src/domain/efs/steps';
import { STEP_EXIT_CODES, type EfsStepSettings } from '../../src/domain/efs/steps/script';
import { ssmAgentDropInPaths, SSM_AGENT_DROP_IN_CONTENT, UMASK_PROFILE_CONTENT, UMASK_PROFILE_PATH } from '../../src/domain/efs/steps/setUmask';
import { findIdentityCollisions, parseInstanceFacts } from '../../src/domain/efs/instanceFacts';
import { chooseInstallRoute } from '../../src/domain/efs/installRoute';
import { InputError, InputErrors } from '../../src/domain/errors';
import { shAssignments } from '../../src/domain/shell';
import { createFakeEfs, createInstanceSandbox, destroyAllSandboxes, FakeEfs, InstanceSandbox } from '../../src/sandbox/instanceSandbox';
import { describeNeeding, needs } from '../support/requires';

const FS_ID = 'fs-0123456789abcdef0';
const MOUNT_POINT = '/mnt/research';
const base: Omit<EfsStepSettings, 'users'> = { fileSystemId: FS_ID, mountPoint: MOUNT_POINT, group: 'prism-shared', gid: 3000, iam: false };

async function runStep(sandbox: InstanceSandbox, step: EfsStep, settings: EfsStepSettings) {
  const result = await sandbox.run(buildStepScript(step, settings));
  return { ...result, output: parseStepOutput(result.stdout) };
}

async function mustRun(sandbox: InstanceSandbox, script: string): Promise<string> {
  const result = await sandbox.run(script);
  if (result.code !== 0) throw new Error(`${script} failed in ${sandbox.name}: ${result.stderr}`);
  return result.stdout;
}

function statOnHost(file: string): { uid: number; gid: number; mode: string } {
  const st = fs.statSync(file);
  return { uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) };
}

const ubuntuSettings: EfsStepSettings = { ...base, users: [] };
const rockySettings: EfsStepSettings = { ...base, users: ['rocky'] };

/**
 * Two fresh instances shaped like the stock Ubuntu 24.04 and Rocky 9 images (ubuntu and rocky both at UID
 * 1000, ssm-user at 1001, a system account with a nologin shell), over one fresh file system.
 */
async function freshPair() {
  const efs = createFakeEfs();
  const volume = efs.fileSystem(FS_ID);
  const ubuntuInstance = await createInstanceSandbox({ name: 'ubuntu', efsRoot: efs.root, image: 'ubuntu-24.04' });
  const rockyInstance = await createInstanceSandbox({ name: 'rocky', efsRoot: efs.root, image: 'rocky-9' });
  return { efs, volume, ubuntuInstance, rockyInstance };
}
type Pair = Awaited<ReturnType<typeof freshPair>>;

/** Every mount step once on both instances, in order; what each step reported. */
async function mountAll({ ubuntuInstance, rockyInstance }: Pair) {
  const reports: Array<{ instance: string; step: EfsStep; code: number; stderr: string; changed: string[] }> = [];
  for (const [instance, settings] of [
    [ubuntuInstance, ubuntuSettings],
    [rockyInstance, rockySettings],
  ] as const) {
    for (const step of EFS_MOUNT_STEPS) {
      const result = await runStep(instance, step, settings);
      reports.push({ instance: instance.name, step, code: result.code, stderr: result.stderr, changed: result.output.changed });
    }
  }
  return reports;
}

/** The ubuntu user writes a file in shared/ and the rocky user of the other instance appends to it. */
async function shareAFile({ ubuntuInstance, rockyInstance }: Pair, name: string) {
  expect(await ubuntuInstance.runAs('ubuntu', `echo 'from ubuntu' > ${MOUNT_POINT}/shared/${name}`)).toMatchObject({ code: 0 });
  expect(await rockyInstance.runAs('rocky', `echo 'from rocky' >> ${MOUNT_POINT}/shared/${name}`)).toMatchObject({ code: 0 });
}

/**
 * One run of every mount step on a fresh pair, made once for the tests that look at its result; each of them
 * works on files of its own, so none depends on another having run.
 */
describeNeeding([needs.rootNamespaces()], 'EFS step scripts on two instances sharing one file system', () => {
  let pair: Pair;
  let firstRun: Awaited<ReturnType<typeof mountAll>>;

  beforeAll(async () => {
    pair = await freshPair();
    firstRun = await mountAll(pair);
  });

  afterAll(async () => {
    await destroyAllSandboxes();
    pair?.efs.destroy();
  });

  test('the first run of every step changes each instance, in order, with exit code 0', async () => {
    for (const report of firstRun) {
      expect(report).toMatchObject({ code: 0, stderr: '' });
      // mount.efs is already there (the stand-in), everything else is new on a fresh instance.
      if (report.step === 'installEfsUtils' || report.step === 'gatherInstanceFacts') expect(report.changed).toEqual([]);
      else expect({ step: report.step, changedSomething: report.changed.length > 0 }).toEqual({ step: report.step, changedSomething: true });
    }
  });

  test('the group holds the detected login user on one instance and the named user on the other, never root or ssm-user', async () => {
    expect(await mustRun(pair.ubuntuInstance, 'getent group prism-shared')).toBe('prism-shared:x:3000:ubuntu\n');
    expect(await mustRun(pair.rockyInstance, 'getent group prism-shared')).toBe('prism-shared:x:3000:rocky\n');
  });

  test('the layout has the documented owners and modes, visible on the file system itself', async () => {
    expect(statOnHost(pair.volume)).toEqual({ uid: 0, gid: 3000, mode: '2775' });
    expect(statOnHost(path.join(pair.volume, 'shared'))).toEqual({ uid: 0, gid: 3000, mode: '2775' });
    expect(statOnHost(path.join(pair.volume, 'users'))).toEqual({ uid: 0, gid: 3000, mode: '2755' });
    expect(statOnHost(path.join(pair.volume, 'users', 'ubuntu'))).toEqual({ uid: 1000, gid: 3000, mode: '2755' });
    expect(statOnHost(path.join(pair.volume, 'users', 'rocky'))).toEqual({ uid: 1000, gid: 3000, mode: '2755' });
    expect(fs.existsSync(path.join(pair.volume, 'users', 'ssm-user'))).toBe(false);
  });

  test('mount.efs was called with TLS and without gid=, and fstab holds exactly one _netdev,tls line', async () => {
    expect(pair.ubuntuInstance.mountEfsCalls()).toEqual([`${FS_ID}:/ ${MOUNT_POINT} -o rw,tls`]);
    const fstab = fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'fstab'), 'utf8');
    expect(fstab.split('\n').filter((l) => l.includes(MOUNT_POINT))).toEqual([`${FS_ID}:/ ${MOUNT_POINT} efs _netdev,tls 0 0`]);
    expect(fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'profile.d', 'sharemount-umask.sh'), 'utf8')).toBe(`${UMASK_PROFILE_CONTENT}\n`);
  });

  test('a file the ubuntu user creates in shared/ is writable by the rocky user of the other instance', async () => {
    await shareAFile(pair, 'experiment.txt');
    expect(statOnHost(path.join(pair.volume, 'shared', 'experiment.txt'))).toEqual({ uid: 1000, gid: 3000, mode: '664' });
    expect(fs.readFileSync(path.join(pair.volume, 'shared', 'experiment.txt'), 'utf8')).toBe('from ubuntu\nfrom rocky\n');
  });

  test("users/<user>/ is the user's own: ssm-user (no member of the group) cannot write into ubuntu's", async () => {
    expect(await pair.ubuntuInstance.runAs('ubuntu', `touch ${MOUNT_POINT}/users/ubuntu/notes.txt`)).toMatchObject({ code: 0 });
    const denied = await pair.ubuntuInstance.runAs('ssm-user', `touch ${MOUNT_POINT}/users/ubuntu/intruder.txt`);
    expect(denied.code).not.toBe(0);
    expect(fs.existsSync(path.join(pair.volume, 'users', 'ubuntu', 'intruder.txt'))).toBe(false);
  });

  test('the stock images share UID 1000: rocky owns users/ubuntu/ too, which gatherInstanceFacts reports as a collision', async () => {
    expect(await pair.rockyInstance.runAs('rocky', `touch ${MOUNT_POINT}/users/ubuntu/from-rocky.txt`)).toMatchObject({ code: 0 });
    const facts = await Promise.all(
      [pair.ubuntuInstance, pair.rockyInstance].map(async (instance, i) => {
        const result = await runStep(instance, 'gatherInstanceFacts', ubuntuSettings);
        expect(result.code).toBe(0);
        return parseInstanceFacts(`i-000000000000000${i}a`, result.stdout);
      }),
    );
    expect(facts.map((f) => f.users)).toEqual([[{ name: 'ubuntu', uid: 1000, gid: 1000 }], [{ name: 'rocky', uid: 1000, gid: 1000 }]]);
    expect(findIdentityCollisions(facts)).toEqual([
      expect.objectContaining({
        kind: 'same-uid-different-names',
        shared: '1000',
        meaning: expect.stringContaining('users/rocky/ and users/ubuntu/ all belong to UID 1000'),
      }),
    ]);
  });

  test('the mount is attributed through efs-utils state under /var/run/efs, named after the file system and the mount point', async () => {
    const states = (await mustRun(pair.ubuntuInstance, 'ls /var/run/efs')).split('\n').filter(Boolean);
    expect(states).toEqual([`${FS_ID}.mnt.research.20049`]);
    expect(JSON.parse(await mustRun(pair.ubuntuInstance, `cat /var/run/efs/${states[0]}`))).toMatchObject({ mountpoint: MOUNT_POINT });
    // The source field of the mount's mountinfo line, as a real TLS mount of EFS has it.
    const source = await mustRun(
      pair.ubuntuInstance,
      `awk -v mp=${MOUNT_POINT} '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") print $(i + 2) }' /proc/self/mountinfo`,
    );
    expect(source).toBe('127.0.0.1:/\n');
  });

  test('gatherInstanceFacts finds both instances converged after the first run; a fresh instance shows its drift', async () => {
    expect(firstRun.filter((r) => r.step === 'gatherInstanceFacts')).toHaveLength(2);
    for (const [instance, settings] of [
      [pair.ubuntuInstance, ubuntuSettings],
      [pair.rockyInstance, rockySettings],
    ] as const) {
      const facts = parseInstanceFacts('i-0000000000000000a', (await runStep(instance, 'gatherInstanceFacts', settings)).stdout);
      expect({ instance: instance.name, converged: facts.converged, drift: facts.drift }).toEqual({ instance: instance.name, converged: true, drift: [] });
    }
    const fresh = await createInstanceSandbox({ name: 'fresh', efsRoot: pair.efs.root, image: 'ubuntu-24.04' });
    const facts = parseInstanceFacts('i-0000000000000000b', (await runStep(fresh, 'gatherInstanceFacts', ubuntuSettings)).stdout);
    expect(facts.converged).toBe(false);
    expect(facts.drift).toEqual(
      expect.arrayContaining([
        `${FS_ID} is not mounted at ${MOUNT_POINT}`,
        'ubuntu is not in group prism-shared',
        '/etc/profile.d/sharemount-umask.sh does not set umask 002',
      ]),
    );
  });

  test('running every step a second time changes nothing', async () => {
    const fstabBefore = fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'fstab'), 'utf8');
    const groupBefore = fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'group'), 'utf8');
    for (const [instance, settings] of [
      [pair.ubuntuInstance, ubuntuSettings],
      [pair.rockyInstance, rockySettings],
    ] as const) {
      for (const step of EFS_MOUNT_STEPS) {
        const result = await runStep(instance, step, settings);
        expect({ step, code: result.code, changed: result.output.changed }).toEqual({ step, code: 0, changed: [] });
        if (step !== 'gatherInstanceFacts') expect(result.output.unchanged.length).toBeGreaterThan(0);
      }
    }
    expect(fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'fstab'), 'utf8')).toBe(fstabBefore);
    expect(fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, 'group'), 'utf8')).toBe(groupBefore);
    expect(fs.readdirSync(path.join(pair.ubuntuInstance.etcDir, 'profile.d')).filter((f) => f.includes('sharemount'))).toEqual(['sharemount-umask.sh']);
    for (const dropIn of ssmAgentDropInPaths())
      expect(fs.readFileSync(path.join(pair.ubuntuInstance.etcDir, dropIn.replace(/^\/etc\//, '')), 'utf8')).toBe(`${SSM_AGENT_DROP_IN_CONTENT}\n`);
    expect(pair.ubuntuInstance.mountEfsCalls()).toHaveLength(1);
    expect(await mustRun(pair.ubuntuInstance, `findmnt -rn -M ${MOUNT_POINT} | wc -l`)).toBe('1\n');
  });
});

/** Tests that change what the others look at (a reboot, an unmount, a race on new file systems): a fresh pair each. */
describeNeeding([needs.rootNamespaces()], 'EFS step scripts on two instances, changed by the test', () => {
  let pair: Pair;

  beforeEach(async () => {
    pair = await freshPair();
  });

  afterEach(async () => {
    await destroyAllSandboxes();
    pair?.efs.destroy();
  });

  test('after a "reboot" (a fresh namespace over the same /etc and /mnt), mount -a mounts the volume from fstab', async () => {
    await mountAll(pair);
    await shareAFile(pair, 'experiment.txt');
    const rebooted = await createInstanceSandbox({ name: 'ubuntu-rebooted', efsRoot: pair.efs.root, rebootOf: pair.ubuntuInstance });
    expect((await rebooted.run(`findmnt -M ${MOUNT_POINT}`)).code).not.toBe(0);
    expect(await rebooted.run('mount -a')).toMatchObject({ code: 0 });
    expect(rebooted.mountEfsCalls()).toEqual([`${FS_ID}:/ ${MOUNT_POINT} -o rw,tls,_netdev`]);
    expect(await mustRun(rebooted, `cat ${MOUNT_POINT}/shared/experiment.txt`)).toBe('from ubuntu\nfrom rocky\n');
    const mountAgain = await runStep(rebooted, 'mountVolume', ubuntuSettings);
    expect(mountAgain.output.changed).toEqual([]);
  });

  test('prepareLayout on two instances at the same moment over a fresh file system succeeds on both (CI once saw mkdir race)', async () => {
    for (let round = 0; round < 8; round++) {
      const fileSystemId = `fs-0000000000000${String(round).padStart(4, '0')}`;
      pair.efs.fileSystem(fileSystemId);
      const settings = (users: string[]) => ({ ...base, fileSystemId, mountPoint: `/mnt/race${round}`, users });
      const pairs = [
        [pair.ubuntuInstance, settings([])],
        [pair.rockyInstance, settings(['rocky'])],
      ] as const;
      for (const [instance, s] of pairs) {
        for (const step of ['ensureGroup', 'mountVolume'] as const) expect((await runStep(instance, step, s)).code).toBe(0);
      }
      const results = await Promise.all(pairs.map(([instance, s]) => runStep(instance, 'prepareLayout', s)));
      expect(results.map((r) => [r.code, r.stderr])).toEqual([
        [0, ''],
        [0, ''],
      ]);
      for (const [instance] of pairs) await mustRun(instance, `umount /mnt/race${round}`);
    }
  });

  test('unmount and removeFstabLine take the volume off one instance and leave the data alone', async () => {
    await mountAll(pair);
    await shareAFile(pair, 'experiment.txt');
    expect(await pair.ubuntuInstance.runAs('ubuntu', `touch ${MOUNT_POINT}/users/ubuntu/notes.txt`)).toMatchObject({ code: 0 });
    const unmount = await runStep(pair.rockyInstance, 'unmountVolume', rockySettings);
    expect(unmount.code).toBe(0);
    expect(unmount.output.changed).toEqual([`unmounted ${MOUNT_POINT}`]);
    expect((await pair.rockyInstance.run(`findmnt -M ${MOUNT_POINT}`)).code).not.toBe(0);

    const remove = await runStep(pair.rockyInstance, 'removeFstabLine', rockySettings);
    expect(remove.code).toBe(0);
    expect(fs.readFileSync(path.join(pair.rockyInstance.etcDir, 'fstab'), 'utf8')).not.toContain(MOUNT_POINT);

    for (const step of ['unmountVolume', 'removeFstabLine'] as const) {
      const again = await runStep(pair.rockyInstance, step, rockySettings);
      expect({ step, code: again.code, changed: again.output.changed }).toEqual({ step, code: 0, changed: [] });
    }
    expect(fs.readFileSync(path.join(pair.volume, 'shared', 'experiment.txt'), 'utf8')).toBe('from ubuntu\nfrom rocky\n');
    expect((await pair.ubuntuInstance.run(`test -f ${MOUNT_POINT}/users/ubuntu/notes.txt`)).code).toBe(0);
  });
});

/**
 * One instance (a sandbox takes seconds to make); each test sets up the conflict it needs itself, with group
 * names, GIDs, mount points and file systems no other test uses, so none depends on another having run.
 */
describeNeeding([needs.rootNamespaces()], 'EFS step scripts refuse what they must not fix', () => {
  let efs: FakeEfs;
  let instance: InstanceSandbox;

  beforeAll(async () => {
    efs = createFakeEfs();
    efs.fileSystem(FS_ID);
    instance = await createInstanceSandbox({ name: 'conflicts', efsRoot: efs.root, image: 'amazonlinux-2023' });
  });

  afterAll(async () => {
    await destroyAllSandboxes();
    efs?.destroy();
  });

  test('a different group holding the GID is a conflict that names it, and nothing is created', async () => {
    await mustRun(instance, 'groupadd -g 3000 research');
    const result = await instance.run(buildStepScript('ensureGroup', { ...base, users: [] }));
    expect(result.code).toBe(STEP_EXIT_CODES.conflict);
    expect(parseStepOutput(result.stdout).errors).toEqual(['GID 3000 is already held by group research: choose another --gid, or --group research']);
    expect((await instance.run('getent group prism-shared')).code).not.toBe(0);
  });

  test('the group existing with another GID is a conflict too', async () => {
    await mustRun(instance, 'groupadd -g 4000 team');
    const result = await instance.run(buildStepScript('ensureGroup', { ...base, group: 'team', gid: 3001, users: [] }));
    expect(result.code).toBe(STEP_EXIT_CODES.conflict);
    expect(result.stderr).toContain('group team already exists with GID 4000, not 3001');
  });

  test('a named user that does not exist on the instance is a missing prerequisite', async () => {
    await mustRun(instance, 'groupadd -g 3002 shared-two');
    const result = await instance.run(buildStepScript('addUsers', { ...base, group: 'shared-two', users: ['ubuntu'] }));
    expect(result.code).toBe(STEP_EXIT_CODES.missingPrerequisite);
    expect(result.stderr).toContain('user ubuntu does not exist on this instance');
    expect(await mustRun(instance, 'getent group shared-two')).toBe('shared-two:x:3002:\n');
  });

  test('detection finds the login user and skips system users, nologin shells, ssm-user and root', async () => {
    await mustRun(instance, 'groupadd -g 3004 detected');
    await mustRun(instance, 'useradd -M -u 1500 -s /usr/sbin/nologin svc && useradd -M -r -s /bin/bash sysuser');
    expect(await mustRun(instance, 'getent passwd ssm-user ec2-instance-connect | cut -d: -f1,3,7')).toBe(
      'ssm-user:1001:/bin/bash\nec2-instance-connect:997:/sbin/nologin\n',
    );
    const result = await instance.run(buildStepScript('addUsers', { ...base, group: 'detected', users: [] }));
    expect(result.code).toBe(0);
    expect(parseStepOutput(result.stdout).users).toEqual(['ec2-user']);
    expect(await mustRun(instance, 'getent group detected')).toBe('detected:x:3004:ec2-user\n');
  });

  test('another file system at the mount point is a conflict that names both, and nothing is mounted over it', async () => {
    const other = 'fs-00000000000000bb';
    efs.fileSystem(other);
    const settings = { ...base, mountPoint: '/mnt/taken', users: [] };
    expect((await runStep(instance, 'mountVolume', { ...settings, fileSystemId: other })).code).toBe(0);
    const result = await runStep(instance, 'mountVolume', settings);
    expect(result.code).toBe(STEP_EXIT_CODES.conflict);
    expect(result.output.errors).toEqual([`/mnt/taken already holds ${other}, not ${FS_ID}: unmount it there, or choose another --mount-point`]);
    expect(await mustRun(instance, 'findmnt -rn -o SOURCE -M /mnt/taken | wc -l')).toBe('1\n');
    await mustRun(instance, 'umount /mnt/taken');
  });

  test('a mount at the mount point that is not EFS is a conflict that names its source', async () => {
    await mustRun(instance, 'mkdir -p /mnt/scratch && mount -t tmpfs scratch-disk /mnt/scratch');
    const result = await runStep(instance, 'mountVolume', { ...base, mountPoint: '/mnt/scratch', users: [] });
    expect(result.code).toBe(STEP_EXIT_CODES.conflict);
    expect(result.output.errors[0]).toContain('/mnt/scratch already holds scratch-disk (tmpfs), not');
    await mustRun(instance, 'umount /mnt/scratch');
  });

  test('a file system policy that requires IAM: the mount without --iam fails at once naming the policy and the iam option', async () => {
    const guarded = 'fs-00000000000000cc';
    efs.fileSystem(guarded);
    efs.requireIam(guarded);
    const settings = { ...base, fileSystemId: guarded, mountPoint: '/mnt/guarded', users: [] };
    const denied = await runStep(instance, 'mountVolume', settings);
    expect(denied.code).toBe(STEP_EXIT_CODES.missingPrerequisite);
    expect(denied.output.errors[0]).toMatch(/file system policy of fs-00000000000000cc denied the mount.*--iam.*-o tls,iam/);
    expect(denied.stderr).toContain('access denied by server');

    const withIam = await runStep(instance, 'mountVolume', { ...settings, iam: true });
    expect(withIam.code).toBe(0);
    expect(instance.mountEfsCalls().pop()).toBe(`${guarded}:/ /mnt/guarded -o rw,tls,iam`);
    expect((await runStep(instance, 'persistFstab', { ...settings, iam: true })).code).toBe(0);
    expect(await mustRun(instance, 'grep /mnt/guarded /etc/fstab')).toBe(`${guarded}:/ /mnt/guarded efs _netdev,tls,iam 0 0\n`);
    await mustRun(instance, 'umount /mnt/guarded');
  });

  test('persistFstab replaces every other line for the mount point, by field, and keeps the rest', async () => {
    const fstab = path.join(instance.etcDir, 'fstab');
    fs.writeFileSync(
      fstab,
      [
        '# static file system information',
        'UUID=abcd / ext4 defaults 0 1',
        `fs-aaaaaaaa:/ ${MOUNT_POINT} nfs4 defaults 0 0`,
        `${FS_ID}:/ ${MOUNT_POINT}-old efs _netdev,tls 0 0`,
        `fs-bbbbbbbb:/   ${MOUNT_POINT}/   efs   tls  0 0`,
        `#${FS_ID}:/ ${MOUNT_POINT} efs _netdev,tls 0 0`,
        '',
      ].join('\n'),
    );
    const result = await instance.run(buildStepScript('persistFstab', { ...base, users: [] }));
    expect(result.code).toBe(0);
    expect(fs.readFileSync(fstab, 'utf8')).toBe(
      [
        '# static file system information',
        'UUID=abcd / ext4 defaults 0 1',
        `${FS_ID}:/ ${MOUNT_POINT} efs _netdev,tls 0 0`,
        `${FS_ID}:/ ${MOUNT_POINT}-old efs _netdev,tls 0 0`,
        `#${FS_ID}:/ ${MOUNT_POINT} efs _netdev,tls 0 0`,
        '',
      ].join('\n'),
    );
    expect(fs.statSync(fstab).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(instance.etcDir).filter((f) => f.startsWith('fstab.'))).toEqual([]);
  });

  test('prepareLayout refuses a symlink where a directory belongs and changes nothing through it', async () => {
    const mp = '/mnt/trap';
    efs.fileSystem('fs-00000000000000001');
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-symlink-target-'));
    try {
      fs.symlinkSync(target, path.join(efs.root, 'fs-00000000000000001', 'shared'));
      expect((await instance.run(buildStepScript('mountVolume', { ...base, mountPoint: mp, fileSystemId: 'fs-00000000000000001', users: [] }))).code).toBe(0);
      await mustRun(instance, 'groupadd -g 3003 trapgroup');
      const result = await instance.run(buildStepScript('prepareLayout', { ...base, mountPoint: mp, group: 'trapgroup', users: ['ec2-user'] }));
      expect(result.code).toBe(STEP_EXIT_CODES.conflict);
      expect(result.stderr).toContain('is a symbolic link');
      expect(statOnHost(target)).toMatchObject({ uid: 0, gid: 0, mode: '700' });
    } finally {
      await instance.run(`umount ${mp}`);
      fs.rmSync(target, { recursive: true, force: true });
    }
  });
});

describeNeeding([needs.rootNamespaces()], 'installEfsUtils on instances without mount.efs', () => {
  let efs: FakeEfs;
  let amazonLinux: InstanceSandbox;
  let ubuntu: InstanceSandbox;
  let bin: string;

  beforeAll(async () => {
    efs = createFakeEfs();
    amazonLinux = await createInstanceSandbox({ name: 'bare-al2023', efsRoot: efs.root, withMountEfs: false, image: 'amazonlinux-2023' });
    ubuntu = await createInstanceSandbox({ name: 'bare-ubuntu', efsRoot: efs.root, withMountEfs: false, image: 'ubuntu-24.04' });
  });

  beforeEach(() => {
    // A PATH holding only stand-in package managers and the few tools the script needs, so the host's own
    // apt-get can never run.
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-fake-bin-'));
    for (const tool of ['tail', 'cat', 'sed', 'head', 'tr']) fs.symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
  });

  afterEach(() => fs.rmSync(bin, { recursive: true, force: true }));

  afterAll(async () => {
    await destroyAllSandboxes();
    efs?.destroy();
  });

  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const install = (instance: InstanceSandbox) => instance.run(buildStepScript('installEfsUtils', { ...base, users: [] }), { env: { PATH: bin } });

  test("Amazon Linux 2023: dnf installs amazon-efs-utils from Amazon's repositories, once", async () => {
    stub('dnf', `case "$*" in *install*) printf '#!/bin/sh\\n' > '${bin}/mount.efs'; /bin/chmod 755 '${bin}/mount.efs' ;; esac; exit 0`);
    const first = await install(amazonLinux);
    expect(first.code).toBe(0);
    expect(parseStepOutput(first.stdout).changed).toEqual(["installed amazon-efs-utils with dnf from Amazon's repositories"]);
    const second = await install(amazonLinux);
    expect(parseStepOutput(second.stdout)).toMatchObject({ changed: [], unchanged: ['amazon-efs-utils is installed (mount.efs found)'] });
  });

  test('Amazon Linux with the repository unreachable says so and stops', async () => {
    stub('dnf', 'echo "Error: No matching Packages to list" >&2; exit 1');
    const result = await install(amazonLinux);
    expect(result.code).toBe(STEP_EXIT_CODES.missingPrerequisite);
    expect(result.stderr).toContain('amazon-efs-utils is not in the dnf repositories of Amazon Linux 2023');
  });

  test('Ubuntu: never apt (its archive has no amazon-efs-utils), the Distributor package instead', async () => {
    stub('apt-get', `echo apt-get ran > '${bin}/apt-ran'`);
    const result = await install(ubuntu);
    expect(result.code).toBe(STEP_EXIT_CODES.missingPrerequisite);
    expect(result.stderr).toContain('install the Distributor package AmazonEFSUtils (AWS-ConfigureAWSPackage)');
    expect(fs.existsSync(path.join(bin, 'apt-ran'))).toBe(false);
  });

  test("gatherInstanceFacts reads each image's os-release and mount.efs, and the route follows from it", async () => {
    const facts = await Promise.all(
      [amazonLinux, ubuntu].map(async (instance) =>
        parseInstanceFacts('i-0000000000000000a', (await instance.run(buildStepScript('gatherInstanceFacts', { ...base, users: [] }))).stdout),
      ),
    );
    expect(facts.map((f) => [f.os, f.users, f.mountEfsInstalled])).toEqual([
      [{ id: 'amzn', versionId: '2023', idLike: ['fedora'] }, [{ name: 'ec2-user', uid: 1000, gid: 1000 }], false],
      [{ id: 'ubuntu', versionId: '24.04', idLike: ['debian'] }, [{ name: 'ubuntu', uid: 1000, gid: 1000 }], false],
    ]);
    expect(facts.map((f) => chooseInstallRoute(f).kind)).toEqual(['amazon-repositories', 'distributor']);
  });
});

describeNeeding([needs.rootNamespaces()], 'umask 002 in the shells people use', () => {
  let efs: FakeEfs;
  let instance: InstanceSandbox;

  beforeAll(async () => {
    efs = createFakeEfs();
    instance = await createInstanceSandbox({ name: 'umask', efsRoot: efs.root, image: 'ubuntu-24.04' });
    expect((await runStep(instance, 'setUmask', { ...base, users: [] })).code).toBe(0);
  });

  afterAll(async () => {
    await destroyAllSandboxes();
    efs?.destroy();
  });

  test('a login shell (console, SSH) reads it from /etc/profile.d', async () => {
    expect(await instance.runAs('ubuntu', 'umask')).toMatchObject({ code: 0, stdout: '0002\n' });
  });

  test("a Session Manager shell (the agent's bare interactive sh as ssm-user) reads it through the agent's ENV", async () => {
    // The agent's environment is its unit's, plus TERM and HOME (StartCommandExecutor): ENV comes from the drop-in.
    const dropIn = fs.readFileSync(path.join(instance.etcDir, ssmAgentDropInPaths()[0].replace(/^\/etc\//, '')), 'utf8');
    const env = /^Environment=ENV=(.*)$/m.exec(dropIn)![1];
    expect(env).toBe(UMASK_PROFILE_PATH);
    const session = `exec setpriv --reuid=ssm-user --regid=ssm-user --init-groups env -i ENV=${env} TERM=xterm-256color HOME=/home/ssm-user sh -i -c umask`;
    expect(await instance.run(session)).toMatchObject({ code: 0, stdout: '0002\n' });
    const withoutEnv = 'exec setpriv --reuid=ssm-user --regid=ssm-user --init-groups env -i TERM=xterm-256color HOME=/home/ssm-user sh -i -c umask';
    expect((await instance.run(withoutEnv)).stdout).toBe('0022\n');
  });
});

describeNeeding([needs.rootNamespaces()], 'injection: values never become code', () => {
  let efs: FakeEfs;
  let instance: InstanceSandbox;
  const marker = path.join(os.tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
  const payloads = [
    `x; touch ${marker}`,
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `'; touch ${marker}; '`,
    `"; touch ${marker}; "`,
    `x\ntouch ${marker}`,
    `/mnt/a b; touch ${marker}`,
    `/mnt/../etc; touch ${marker}`,
  ];

  beforeAll(async () => {
    efs = createFakeEfs();
    instance = await createInstanceSandbox({ name: 'injection', efsRoot: efs.root, users: [{ name: 'ubuntu', uid: 1000 }] });
  });

  afterAll(async () => {
    await destroyAllSandboxes();
    efs?.destroy();
    fs.rmSync(marker, { force: true });
  });

  test.each(payloads)('the validators reject %j in every field before any script exists', (payload) => {
    const request = { volumeName: 'research', fileSystemId: FS_ID, instanceIds: ['i-0123456789abcdef0'] };
    for (const field of ['volumeName', 'fileSystemId', 'mountPoint', 'group', 'gid'] as const) {
      expect(() => planEfsMount({ ...request, [field]: payload })).toThrow(InputError);
    }
    expect(() => planEfsMount({ ...request, users: [payload] })).toThrow(InputError);
    expect(() => planEfsMount({ ...request, instanceIds: [payload] })).toThrow(InputError);
    expect(() => planEfsMount({ ...request, volumeName: payload, mountPoint: payload })).toThrow(InputErrors);
  });

  test.each(payloads)('%j passed through shQuote is inert, and the step scripts refuse it themselves', async (payload) => {
    // Each step script with one of its assignments swapped for the payload: the quoting keeps the payload
    // data, and the script's own check stops with "bad input" before using it.
    const settings: EfsStepSettings = { ...base, users: ['ubuntu'], people: [{ name: 'alice', uid: 2000, gid: 2000 }] };
    for (const [step, variable] of [
      ['mountVolume', 'MOUNT_POINT'],
      ['mountVolume', 'ACCESS_POINT'],
      ['provisionPeople', 'PEOPLE'],
      ['persistFstab', 'FS_ID'],
      ['ensureGroup', 'GROUP'],
      ['addUsers', 'USERS'],
      ['ensureGroup', 'GID'],
    ] as const) {
      const script = buildStepScript(step, settings).replace(new RegExp(`^${variable}=.*$`, 'm'), () => shAssignments({ [variable]: payload }));
      expect(script).toContain(shAssignments({ [variable]: payload }));
      const result = await instance.run(script);
      expect({ step, variable, code: result.code }).toEqual({ step, variable, code: STEP_EXIT_CODES.badInput });
    }
    const echoed = await instance.run(`${shAssignments({ VALUE: payload })}\nprintf '%s' "$VALUE"`);
    expect(echoed.stdout).toBe(payload);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
