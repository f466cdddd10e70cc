/**
 * The layer boundaries of src/ hold because eslint.config.mjs refuses each way across them: every case here is
 * a one-line file that crosses one, linted with the project's config as if it lived in that layer. The cycle
 * check (scripts/check-import-cycles.js) is run on small trees made for it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

interface Case {
  what: string;
  filePath: string;
  code: string;
  /** A piece of the expected message; undefined: the file must lint clean. */
  refused?: string;
}

const CASES: Case[] = [
  {
    what: 'domain imports the host layer',
    filePath: 'src/domain/efs/fixture.ts',
    code: "import { findFileSystem } from '../../host/aws/fileSystem';",
    refused: 'domain code imports only other domain code',
  },
  { what: 'domain does I/O', filePath: 'src/domain/fixture.ts', code: "import * as fs from 'node:fs';", refused: 'domain code is pure: no I/O' },
  {
    what: 'domain uses Temporal',
    filePath: 'src/domain/fixture.ts',
    code: "import { ApplicationFailure } from '@temporalio/common';",
    refused: 'no AWS, no Temporal',
  },
  {
    what: 'domain requires the CLI',
    filePath: 'src/domain/lxc/fixture.ts',
    code: "const cli = require('../../cli/output');",
    refused: 'domain code imports only other domain code',
  },
  {
    what: 'a workflow imports activity code',
    filePath: 'src/workflows/fixture.ts',
    code: "import { createEfsActivities } from '../activities/efs';",
    refused: 'workflows may import activity types only',
  },
  { what: 'a workflow imports activity types', filePath: 'src/workflows/fixture.ts', code: "import type { Activities } from '../activities';" },
  { what: 'a workflow imports domain code', filePath: 'src/workflows/fixture.ts', code: "import { InputError } from '../domain/errors';" },
  {
    what: 'a workflow imports the host layer',
    filePath: 'src/workflows/fixture.ts',
    code: "import { locateInstances } from '../host/aws/instances';",
    refused: 'workflows import only domain code, other workflow files and activity types',
  },
  {
    what: 'a workflow imports the client SDK',
    filePath: 'src/workflows/fixture.ts',
    code: "import { Client } from '@temporalio/client';",
    refused: 'workflow code imports only @temporalio/workflow and @temporalio/common',
  },
  {
    what: 'a workflow loads a built-in at run time',
    filePath: 'src/workflows/fixture.ts',
    code: "export const load = () => import('node:fs');",
    refused: 'workflow code must not use Node built-ins',
  },
  {
    what: 'the host layer uses Temporal',
    filePath: 'src/host/aws/fixture.ts',
    code: "import { Context } from '@temporalio/activity';",
    refused: 'the host layer has no Temporal',
  },
  {
    what: 'the host layer imports activities',
    filePath: 'src/host/aws/fixture.ts',
    code: "import { awsStep } from '../../activities/efs/failures';",
    refused: 'the host layer imports only domain and host code',
  },
  {
    what: 'the host layer imports a sandbox',
    filePath: 'src/host/fixture.ts',
    code: "import { startMoto } from '../sandbox/moto';",
    refused: 'the host layer imports only domain and host code',
  },
  {
    what: 'the host layer imports the CLI',
    filePath: 'src/host/proxmox/fixture.ts',
    code: "export const load = () => import('../../cli/output');",
    refused: 'the host layer imports only domain and host code',
  },
  {
    what: 'the host layer imports domain code and the AWS SDK',
    filePath: 'src/host/aws/fixture.ts',
    code: "import { EFSClient } from '@aws-sdk/client-efs';\nimport { creationToken } from '../../domain/efs/creationToken';",
  },
  {
    what: 'an activity imports a sandbox',
    filePath: 'src/activities/efs/fixture.ts',
    code: "import { motoClients } from '../../sandbox/moto';",
    refused: 'activities import only domain and host code',
  },
  {
    what: 'an activity requires the CLI',
    filePath: 'src/activities/fixture.ts',
    code: "const cli = require('../cli/output');",
    refused: 'activities import only domain and host code',
  },
  { what: 'an activity imports the host layer', filePath: 'src/activities/efs/fixture.ts', code: "import { runStep } from '../../host/aws/ssm';" },
  {
    what: 'the CLI imports an activity',
    filePath: 'src/cli/commands/fixture.ts',
    code: "import { createEfsActivities } from '../../activities/efs';",
    refused: 'the CLI never imports activities',
  },
  {
    what: 'the CLI imports activity types',
    filePath: 'src/cli/fixture.ts',
    code: "import type { Activities } from '../activities';",
    refused: 'the CLI never imports activities',
  },
  {
    what: 'the CLI loads an activity at run time',
    filePath: 'src/cli/commands/fixture.ts',
    code: "export const load = () => import('../../activities');",
    refused: 'the CLI never imports activities',
  },
  {
    what: 'the CLI reads through the host layer',
    filePath: 'src/cli/commands/fixture.ts',
    code: "export const load = () => import('../../host/aws/fileSystem');",
  },
];

function lint(cases: Case[]): { ruleId: string | null; message: string }[][] {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'lintText.mjs')], {
    cwd: root,
    input: JSON.stringify(cases.map(({ filePath, code }) => ({ filePath, code: `${code}\n` }))),
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('the layer boundaries (eslint.config.mjs)', () => {
  let results: { ruleId: string | null; message: string }[][];
  beforeAll(() => {
    results = lint(CASES);
  }, 300_000);

  it.each(CASES.map((c, i) => [c.what, i] as const))('%s', (_what, i) => {
    const { refused } = CASES[i];
    const messages = results[i];
    // Unused imports in a one-line fixture are not the point; a parse error (no ruleId) would be.
    if (refused === undefined) expect(messages.filter((m) => m.ruleId === null || m.ruleId.startsWith('no-restricted-'))).toEqual([]);
    else expect(messages).toContainEqual({ ruleId: expect.stringMatching(/^no-restricted-(imports|syntax)$/), message: expect.stringContaining(refused) });
  });
});

describe('the import cycle check (scripts/check-import-cycles.js)', () => {
  function check(files: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-cycles-'));
    try {
      for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
      }
      return spawnSync(process.execPath, [path.join(root, 'scripts', 'check-import-cycles.js'), dir], { cwd: dir, encoding: 'utf8' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('fails on a cycle through a folder index and a type-only import, naming the circle', () => {
    const run = check({
      'a.ts': "import { b } from './lib';\nexport const a = b;\n",
      'lib/index.ts': "export { b } from './b';\n",
      'lib/b.ts': "import type { a } from '../a';\nexport const b = 1 as unknown as typeof a;\n",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('a.ts -> lib/index.ts -> lib/b.ts -> a.ts');
  });

  it('sees import() and require()', () => {
    const run = check({ 'a.ts': "export const load = () => import('./b');\n", 'b.ts': "const a = require('./a');\nexport default a;\n" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('a.ts -> b.ts -> a.ts');
  });

  it('passes a tree whose imports form no circle', () => {
    const run = check({ 'a.ts': "import { b } from './b';\nimport * as fs from 'node:fs';\nexport const a = [b, fs];\n", 'b.ts': 'export const b = 1;\n' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('none among 2 files');
  });
});
