import { Command, CommanderError } from 'commander';
import { InputError, InputErrors } from '../domain/errors';
import { demoCommand } from './commands/demo';
import { devCommand } from './commands/dev';
import { doctorCommand } from './commands/doctor';
import { efsCommand } from './commands/efs';
import { lxcCommand } from './commands/lxc';
import { cancelCommand, listCommand, statusCommand, watchCommand } from './commands/runs';
import { scheduleCommand } from './commands/schedule';
import { searchAttributesCommand } from './commands/searchAttributes';
import { serverCommand } from './commands/server';
import { usersCommand } from './commands/users';
import { workerCommand } from './commands/worker';
import { CliError, EXIT, EXIT_CODES_HELP } from './exitCodes';
import { paint } from './output';

const ENVIRONMENT_HELP = `Temporal:
  With no TEMPORAL_ADDRESS, commands use a server on 127.0.0.1:7233 (\`sharemount dev\`) or start the
  embedded one for their own lifetime. TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
  TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH and
  TEMPORAL_TLS_SERVER_NAME point every command at an existing cluster (Temporal Cloud included).`;

export function buildProgram(): Command {
  const program = new Command('sharemount')
    .description('make shared volumes writable for every Proxmox LXC container and EC2 instance that mounts them, as durable Temporal workflows')
    .version(require('../../package.json').version)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`);
  for (const command of [
    devCommand(),
    workerCommand(),
    doctorCommand(),
    demoCommand(),
    lxcCommand(),
    efsCommand(),
    usersCommand(),
    statusCommand(),
    watchCommand(),
    listCommand(),
    cancelCommand(),
    scheduleCommand(),
    searchAttributesCommand(),
    serverCommand(),
  ])
    program.addCommand(command);
  return program;
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof InputError || error instanceof InputErrors) return EXIT.badInput;
  return EXIT.targetsFailed;
}

/** Runs the CLI; every failure ends in a message for the operator and a documented exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${paint('red', 'error:', process.stderr)} ${message}\n`);
    return exitCodeOf(error);
  }
}
