/**
 * Every EFS step's script passes Debian's shellcheck (all severities, style included), as the plan builds it
 * from ordinary settings and with each injection payload (test/fixtures/injection/) as each of its inputs: the
 * validators would refuse those, so they are handed to renderStepScript directly, and the quoting must still
 * leave a script that parses as the same code around one literal value.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildStepScript, efsStep, EFS_MOUNT_STEPS, EFS_OPTIONAL_STEPS, EFS_UNMOUNT_STEPS, type EfsStep } from '../../src/domain/efs/steps';
import { renderStepScript, type EfsStepSettings } from '../../src/domain/efs/steps/script';
import { injectionPayloads } from '../support/injectionPayloads';
import { describeNeeding, needs } from '../support/requires';

const STEPS: readonly EfsStep[] = [...EFS_MOUNT_STEPS, ...EFS_OPTIONAL_STEPS.map((step) => step.name), ...EFS_UNMOUNT_STEPS];
const base = { fileSystemId: 'fs-0123456789abcdef0', mountPoint: '/mnt/research', group: 'prism-shared', gid: 3000, iam: false };
const people = [
  { name: 'alice', uid: 2000, gid: 2000 },
  { name: 'bob', uid: 2001, gid: 2001 },
];
const ORDINARY: Record<string, EfsStepSettings> = {
  'detected users': { ...base, users: [] },
  'named users': { ...base, users: ['ubuntu', 'ec2-user'], people },
  'through an access point': { ...base, users: [], iam: true, accessPointId: 'fsap-0123456789abcdef0' },
};

interface Finding {
  script: string;
  line: number;
  level: string;
  code: number;
  message: string;
  text: string;
}

/** One shellcheck run over many scripts; every finding, with the line it is about. */
function shellcheck(scripts: Record<string, string>): Finding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-shellcheck-'));
  try {
    const files = Object.entries(scripts).map(([name, text], index) => {
      const file = path.join(dir, `${index}.sh`);
      fs.writeFileSync(file, text);
      return { file, name, lines: text.split('\n') };
    });
    const run = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '--format=json1', ...files.map((f) => f.file)], { encoding: 'utf8' });
    if (run.error) throw run.error;
    if (run.status !== 0 && run.status !== 1) throw new Error(`shellcheck exited ${run.status}: ${run.stderr}`);
    const { comments } = JSON.parse(run.stdout) as { comments: Array<{ file: string; line: number; level: string; code: number; message: string }> };
    return comments.map((c) => {
      const source = files.find((f) => f.file === c.file)!;
      return { script: source.name, line: c.line, level: c.level, code: c.code, message: c.message, text: source.lines[c.line - 1] };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describeNeeding([needs.shellcheck()], 'shellcheck on every EFS step script', () => {
  const payloads = injectionPayloads('/tmp/sharemount-pwned');

  test('a planted unquoted use is found once a payload is the value (shellcheck trusts a safe literal)', () => {
    const definition = efsStep('mountVolume');
    const planted = { ...definition, body: `${definition.body}\necho $MOUNT_POINT` };
    const values = definition.inputs(ORDINARY['named users']);
    expect(shellcheck({ ordinary: renderStepScript(planted, values) })).toEqual([]);
    expect(shellcheck({ payload: renderStepScript(planted, { ...values, MOUNT_POINT: payloads[0] }) }).map((f) => f.code)).toEqual([2086]);
  });

  test.each(STEPS)('%s, with ordinary settings', (step) => {
    const scripts = Object.fromEntries(Object.entries(ORDINARY).map(([name, settings]) => [`${step} (${name})`, buildStepScript(step, settings)]));
    expect(shellcheck(scripts)).toEqual([]);
  });

  // Each trial sets every input of the step to the same payload: shellcheck then judges each use of each
  // variable with a hostile value, in one script per payload (shellcheck takes ~0.4 s per script).
  test.each(STEPS.filter((step) => Object.keys(efsStep(step).inputs(ORDINARY['named users'])).length > 0))(
    '%s, with each injection payload as every input',
    (step) => {
      const definition = efsStep(step);
      const variables = Object.keys(definition.inputs(ORDINARY['named users']));
      const scripts: Record<string, string> = {};
      for (const payload of payloads) {
        const trial = Object.fromEntries(variables.map((variable) => [variable, payload]));
        // A NUL byte cannot be in a shell value at all: quoting refuses it rather than cutting it short.
        if (payload.includes('\0')) expect(() => renderStepScript(definition, trial)).toThrow(/NUL/);
        else scripts[`${step} with ${JSON.stringify(payload)} as ${variables.join(', ')}`] = renderStepScript(definition, trial);
      }
      expect(Object.keys(scripts)).toHaveLength(payloads.filter((p) => !p.includes('\0')).length);
      expect(shellcheck(scripts)).toEqual([]);
    },
  );
});
