/**
 * aws:runShellScript as the agent runs it (amazon-ssm-agent, runscript.Plugin.runCommands and
 * executers.ExecuteCommand): the commands written to `_script.sh` under the command's orchestration
 * directory (pluginutil.CreateScriptFile: joined with newlines, one at the end, mode 0700), run as root by
 * `sh -c <script path>` in the agent's own working directory (/usr/bin, the unit's WorkingDirectory) with the
 * agent's environment (its systemd unit's: PATH and no HOME) plus the AWS_SSM_* and SSM_COMMAND_ID variables.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { InstanceSandbox } from '../instanceSandbox';
import { OutputCollector } from './output';
import type { CancelFlag, PluginResult, PluginStatus } from './plugin';

export interface ShellRun {
  instanceId: string;
  commandId: string;
  region: string;
  commands: string[];
  /** The document's executionTimeout parameter, as sent. */
  executionTimeout: string | undefined;
  /** Milliseconds per second of timeout: 1000 is real time; tests may shorten the waits, never change the rules. */
  msPerSecond: number;
  platform: { name: string; version: string };
}

/** The PATH systemd gives a service (and so the agent and every script it runs). */
export const AGENT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';
/** WorkingDirectory of packaging/linux/amazon-ssm-agent.service: the plugin passes no directory of its own. */
export const AGENT_WORKING_DIRECTORY = '/usr/bin';
/** appconfig.CommandStoppedPreemptivelyExitCode: 128 + SIGKILL. */
export const STOPPED_PREEMPTIVELY = 137;
/** appconfig.RebootExitCode. */
export const REBOOT_EXIT_CODE = 194;

/** pluginutil.ValidateExecutionTimeout: a number of seconds from 5 to 172800, anything else becomes 3600. */
export function executionTimeoutSeconds(given: string | undefined): number {
  const num = Number(given);
  if (given === undefined || given.trim() === '' || !Number.isFinite(num)) return 3600;
  const seconds = Math.trunc(num);
  return seconds < 5 || seconds > 172800 ? 3600 : seconds;
}

/** pluginutil.GetStatus (unix): 0 Success, 194 SuccessAndReboot, 137 Cancelled or TimedOut, else Failed. */
function statusOf(code: number, cancelled: boolean): PluginStatus {
  if (code === 0) return 'Success';
  if (code === REBOOT_EXIT_CODE) return 'SuccessAndReboot';
  if (code === STOPPED_PREEMPTIVELY) return cancelled ? 'Cancelled' : 'TimedOut';
  return 'Failed';
}

/** The orchestration directory the agent gives the plugin (docmanager: <data>/<instance>/document/orchestration/<command>/<plugin>). */
function orchestrationDir(run: ShellRun): string {
  return `/var/lib/amazon/ssm/${run.instanceId}/document/orchestration/${run.commandId}/awsrunShellScript/0.awsrunShellScript`;
}

/**
 * /var/lib/amazon is the agent's disk; in the sandbox it is a tmpfs of its own, so nothing it writes reaches
 * the host (only the empty mount point is made there, as the agent's package would).
 */
async function agentDataDir(sandbox: InstanceSandbox): Promise<void> {
  fs.mkdirSync('/var/lib/amazon', { recursive: true });
  const ready = await sandbox.run('findmnt -rn /var/lib/amazon >/dev/null || mount -t tmpfs -o mode=0755 sharemount-ssm-agent /var/lib/amazon');
  if (ready.code !== 0) throw new Error(`emulator: cannot prepare /var/lib/amazon: ${ready.stderr}`);
}

async function writeScript(sandbox: InstanceSandbox, run: ShellRun): Promise<string> {
  const dir = orchestrationDir(run);
  const scriptPath = `${dir}/_script.sh`;
  // The sandbox writes its own file: the script goes through stdin-free base64 so any byte survives.
  const body = Buffer.from(run.commands.join('\n') + '\n').toString('base64');
  const written = await sandbox.run(`set -e; mkdir -p '${dir}'; printf '%s' '${body}' | base64 -d > '${scriptPath}'; chmod 0700 '${scriptPath}'`);
  if (written.code !== 0) throw new Error(`emulator: cannot write ${scriptPath}: ${written.stderr}`);
  return scriptPath;
}

/** executers.ExecuteCommand: the shell leads its own process group, and a timeout or cancel kills the whole group. */
export async function runShellScript(sandbox: InstanceSandbox, run: ShellRun, cancel: CancelFlag): Promise<PluginResult> {
  await agentDataDir(sandbox);
  const scriptPath = await writeScript(sandbox, run);
  const env = {
    PATH: AGENT_PATH,
    AWS_SSM_INSTANCE_ID: run.instanceId,
    AWS_SSM_REGION_NAME: run.region,
    AWS_SSM_PLATFORM_NAME: run.platform.name,
    AWS_SSM_PLATFORM_VERSION: run.platform.version,
    SSM_COMMAND_ID: run.commandId,
  };
  const child = spawn('/usr/bin/nsenter', [`--mount=${sandbox.namespaceFile}`, `--wd=${AGENT_WORKING_DIRECTORY}`, '--', 'sh', '-c', scriptPath], {
    env,
    detached: true, // setsid: the shell is the leader of its own process group (executers_unix.prepareProcess)
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = new OutputCollector();
  const stderr = new OutputCollector();
  child.stdout.on('data', (d: Buffer) => stdout.write(d));
  child.stderr.on('data', (d: Buffer) => stderr.write(d));
  let stoppedBy: 'timeout' | 'cancel' | undefined;
  const killGroup = (why: 'timeout' | 'cancel') => {
    if (stoppedBy || child.pid === undefined) return;
    stoppedBy = why;
    try {
      process.kill(-child.pid, 'SIGKILL'); // executers_unix.killProcess: the minus sign is the group
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => killGroup('timeout'), executionTimeoutSeconds(run.executionTimeout) * run.msPerSecond);
  cancel.onCancel(() => killGroup('cancel'));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    // ExecuteCommand: a timeout or cancel is 137; a process killed by someone else has no exit status (-1).
    child.on('close', (exitCode, signal) => resolve(stoppedBy ? STOPPED_PREEMPTIVELY : (exitCode ?? (signal ? -1 : 1))));
  }).finally(() => clearTimeout(timer));
  return { status: statusOf(code, stoppedBy === 'cancel'), code, stdout: stdout.agentOutput(), stderr: stderr.agentOutput() };
}
