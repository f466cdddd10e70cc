import * as fs from 'node:fs';
import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { table } from '../../src/cli/output';
import { buildProgram } from '../../src/cli/program';
import { runCliInProcess } from '../support/cliInProcess';
import { runCli } from '../support/cliProcess';
import { testClient, testServerAddress, uniqueTaskQueue } from '../support/temporal';

/** The CLI's contract with scripts: help everywhere, documented exit codes, no colour off a terminal. */
function leafCommands(): string[][] {
  const walk = (command: ReturnType<typeof buildProgram>, prefix: string[]): string[][] =>
    command.commands.length === 0 ? [prefix] : command.commands.flatMap((c) => walk(c, [...prefix, c.name()]));
  return walk(buildProgram(), []);
}

describe('the sharemount CLI', () => {
  it('has every command the operator issue names', () => {
    const names = leafCommands().map((c) => c.join(' '));
    for (const expected of [
      'dev',
      'worker',
      'doctor',
      'demo',
      'lxc plan',
      'lxc apply',
      'efs create',
      'efs mount',
      'efs unmount',
      'status',
      'watch',
      'list',
      'cancel',
      'schedule create',
      'schedule list',
      'schedule describe',
      'schedule pause',
      'schedule resume',
      'schedule trigger',
      'schedule delete',
      'users add',
      'users remove',
      'users list',
      'users show',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(leafCommands().map((c) => [c.join(' '), c]))('`%s --help` shows usage and an example', (_name, path) => {
    // In process: the help text is the same, without paying a node start per command.
    let command = buildProgram();
    for (const name of path as string[]) command = command.commands.find((c) => c.name() === name)!;
    let text = '';
    command.configureOutput({ writeOut: (s) => (text += s) });
    command.outputHelp();
    expect(text).toMatch(/Usage: sharemount/);
    expect(text).toMatch(/Example/);
  });

  it('`--help` from the shell exits 0', async () => {
    const result = await runCli(['efs', 'mount', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: sharemount efs mount/);
  });

  it('top-level help documents the exit codes and the Temporal environment', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*2 +bad input/);
    expect(result.stdout).toMatch(/TEMPORAL_ADDRESS/);
  });

  it('an unknown option is bad input (exit 2) with usage help', async () => {
    const result = await runCli(['lxc', 'plan', '--config', '/nonexistent', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--bogus'/);
  });

  it('a config that does not exist is bad input naming --config', async () => {
    const result = await runCli(['lxc', 'plan', '--config', '/nonexistent/phoenix.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config: cannot read \/nonexistent\/phoenix.json: ENOENT/);
  });

  it('an unreachable Temporal is exit 3 with the fix', async () => {
    const result = await runCli(['list'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot reach Temporal at 127.0.0.1:1/);
    expect(result.stderr).toMatch(/sharemount dev/);
  });

  it('prints no colour codes with NO_COLOR or off a terminal', async () => {
    const result = await runCli(['efs', 'mount', 'bad;name', 'i-0123456789abcdef0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: <name>: /);
    expect(result.stderr).not.toMatch(/\u001b\[/);
  });

  it('rejects every bad EFS argument before anything is sent', async () => {
    const result = await runCli(['efs', 'mount', 'research', 'i-0123456789abcdef0', '--mount-point', '/mnt/x; touch /tmp/pwned', '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--mount-point/);
  });

  it('efs create names its own --instance flag for a bad instance, not the <instance-id> argument of mount', async () => {
    const result = await runCliInProcess(['efs', 'create', 'research', '--instance', 'i-123']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --instance: "i-123" is not an EC2 instance id/);
  });

  // Every numeric option of every command, each with values Number() would take or turn into NaN. All are
  // refused while the command line is parsed, so none of these connects, starts or stores anything.
  const INSTANCE = 'i-0123456789abcdef0';
  const badNumbers: Array<[string, string[]]> = [
    ['--limit', ['list', '--limit', 'abc']],
    ['--limit', ['list', '--limit', '0']],
    ['--limit', ['list', '--limit', '1e3']],
    ['--concurrency', ['efs', 'mount', 'research', INSTANCE, '--concurrency', '0x10', '--dry-run']],
    ['--concurrency', ['efs', 'unmount', 'research', INSTANCE, '--concurrency', '2.5', '--dry-run']],
    ['--gid', ['efs', 'mount', 'research', INSTANCE, '--gid', 'abc', '--dry-run']],
    ['--gid', ['schedule', 'create', 'nightly', 'efs', 'research', INSTANCE, '--every', '1h', '--gid', 'abc']],
    ['--port', ['dev', '--port', 'abc']],
    ['--ui-port', ['dev', '--ui-port', '70000']],
    ['--max-concurrent-activities', ['worker', '--max-concurrent-activities', 'many']],
    ['--max-concurrent-activities', ['worker', '--max-concurrent-activities', ' 5']],
  ];
  it.each(badNumbers)('a bad number for %s is bad input (exit 2) naming the flag: %j', async (flag, args) => {
    const result = await runCliInProcess(args);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(new RegExp(`^error: ${flag}: .*not a whole number`)),
    });
    expect(result.stdout).toBe('');
  });

  it('schedule create checks --gid by the same rule as efs mount (exit 2, before anything is stored)', async () => {
    const result = await runCliInProcess(['schedule', 'create', 'nightly', 'efs', 'research', INSTANCE, '--every', '1h', '--gid', '65534']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --gid: 65534 is outside 1000\.\.60000/);
  });

  it('a bad --limit fails at the process boundary too, before connecting (exit 2, not 3)', async () => {
    const result = await runCli(['list', '--limit', 'abc'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --limit: "abc" is not a whole number from 1 to 10000/);
  });

  it('list --limit takes the number given', async () => {
    // Two runs of its own on a queue no worker polls, so there is more to list than the limit.
    const { client, close } = await testClient();
    const taskQueue = uniqueTaskQueue('limit');
    const ids = [1, 2].map((n) => `sharemount-limit-${process.pid}-${n}`);
    try {
      for (const workflowId of ids) await client.workflow.start('doctorWorkflow', { taskQueue, workflowId, args: [{ backends: [] }] });
      for (let i = 0; i < 50; i++) {
        const seen = [];
        for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) seen.push(execution);
        if (seen.length === 2) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const result = await runCliInProcess(['list', '--limit', '1', '--json'], { TEMPORAL_ADDRESS: testServerAddress() });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toHaveLength(1);
    } finally {
      for (const workflowId of ids)
        await client.workflow
          .getHandle(workflowId)
          .terminate('test over')
          .catch(() => undefined);
      await close();
    }
  });

  it('numeric defaults are numbers, shown in help', () => {
    const efs = buildProgram().commands.find((c) => c.name() === 'efs')!;
    const mount = efs.commands.find((c) => c.name() === 'mount')!;
    expect(mount.opts().concurrency).toBe(10);
    expect(mount.helpInformation()).toMatch(/--concurrency <n> +instances worked on at once \(default: 10\)/);
  });

  it('lines up table columns by what shows, not by the length of colour codes', () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    const lines = table(
      ['target', 'result', 'changed'],
      [
        ['CT 950', red('failed'), 'refused 1 entry'],
        [red('CT 951'), 'ok', 'bound mp0'],
      ],
    ).split('\n');
    expect(lines.map(stripVTControlCharacters)).toEqual([
      'target  result  changed',
      '------  ------  ---------------',
      'CT 950  failed  refused 1 entry',
      'CT 951  ok      bound mp0',
    ]);
    expect(lines[2]).toContain(red('failed'));
  });

  it('engines asks for a Node that has every API the code uses (util.styleText: 20.12)', () => {
    const { engines } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { engines: { node: string } };
    const [major, minor] = /^>=(\d+)\.(\d+)\.\d+$/.exec(engines.node)!.slice(1).map(Number);
    expect(major > 20 || (major === 20 && minor >= 12)).toBe(true);
  });
});
