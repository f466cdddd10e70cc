import { buildProgram } from '../../src/cli/program';
import { runCli } from '../support/cliProcess';

/** The CLI's contract with scripts: help everywhere, documented exit codes, no colour off a terminal. */
function leafCommands(): string[][] {
  const walk = (command: ReturnType<typeof buildProgram>, prefix: string[]): string[][] =>
    command.commands.length === 0 ? [prefix] : command.commands.flatMap((c) => walk(c, [...prefix, c.name()]));
  return walk(buildProgram(), []);
}

describe('the sharemount CLI', () => {
  it('has every command the operator issue names', () => {
    const names = leafCommands().map((c) => c.join(' '));
    for (const expected of ['dev', 'worker', 'doctor', 'demo', 'lxc plan', 'lxc apply', 'efs create', 'efs mount', 'efs unmount', 'status', 'watch', 'list', 'cancel', 'schedule create', 'schedule list', 'schedule describe', 'schedule pause', 'schedule resume', 'schedule trigger', 'schedule delete']) {
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
});
