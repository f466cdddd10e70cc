import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { buildProgram, main } from '../../../src/cli/program';
import { InputError } from '../../../src/domain/errors';
import { parseDatabaseUrl } from '../../../src/temporal/clusterServer';

const root = path.resolve(__dirname, '../../..');
const unitsDir = path.join(root, 'deploy', 'systemd');

/** `[Section]` → key → values (a key may repeat), as systemd reads a unit file. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) sections[header[1]] = current = {};
    else {
      const [key, ...value] = line.split('=');
      if (!current) throw new Error(`${line}: outside any section`);
      (current[key] ??= []).push(value.join('='));
    }
  }
  return sections;
}

describe('systemd units', () => {
  const units = fs.readdirSync(unitsDir).filter((name) => name.endsWith('.service'));
  const program = buildProgram();

  it('cover the three shapes: a node worker, the single node, the server', () => {
    expect(units.sort()).toEqual(['sharemount-dev.service', 'sharemount-server.service', 'sharemount-worker.service']);
  });

  it.each(['sharemount-dev.service', 'sharemount-server.service', 'sharemount-worker.service'])(
    '%s runs a real sharemount command, restarts, and reads an env file shipped next to it',
    (name) => {
      const unit = parseUnit(fs.readFileSync(path.join(unitsDir, name), 'utf8'));
      const [exec] = unit.Service.ExecStart;
      const words = exec.split(/\s+/);
      expect(words.slice(0, 2)).toEqual(['/usr/bin/env', 'sharemount']);
      const command = program.commands.find((c: Command) => c.name() === words[2]);
      expect(command).toBeDefined();
      for (const flag of words.slice(3).filter((w) => w.startsWith('--'))) expect(command!.options.map((o) => o.long)).toContain(flag);
      expect(unit.Service.Restart).toEqual(['on-failure']);
      const [environmentFile] = unit.Service.EnvironmentFile;
      expect(environmentFile).toMatch(/^\/etc\/sharemount\//);
      expect(fs.existsSync(path.join(unitsDir, path.basename(environmentFile)))).toBe(true);
      expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
    },
  );

  it('the server env file sets the --db the server needs, under the variable the command reads', () => {
    const server = program.commands.find((c: Command) => c.name() === 'server')!;
    const env = fs.readFileSync(path.join(unitsDir, 'sharemount-server.env'), 'utf8');
    const set = [...env.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
    expect(set).toContain(server.options.find((o) => o.long === '--db')!.envVar);
    const known = server.options.map((o) => o.envVar).filter(Boolean);
    for (const name of [...env.matchAll(/^#?(SHAREMOUNT_SERVER_[A-Z_]+|SHAREMOUNT_UI_PORT)=/gm)].map((m) => m[1])) expect(known).toContain(name);
  });
});

describe('sharemount server --db', () => {
  it('reads host, port, user, password, databases and driver attributes', () => {
    expect(parseDatabaseUrl('postgres://tem%40poral:p%3Ass@db.example:6543/ops?sslmode=require&connect_timeout=5')).toEqual({
      host: 'db.example',
      port: 6543,
      user: 'tem@poral',
      password: 'p:ss',
      database: 'ops',
      visibilityDatabase: 'ops_visibility',
      attributes: 'sslmode=require&connect_timeout=5',
    });
    expect(parseDatabaseUrl('postgresql://u@[::1]')).toMatchObject({
      host: '::1',
      port: 5432,
      password: '',
      database: 'temporal',
      visibilityDatabase: 'temporal_visibility',
      attributes: '',
    });
  });

  it.each([
    ['not a url', /not a URL/],
    ['mysql://u:p@h:3306', /postgres:\/\//],
    ['postgres://h:5432', /no user/],
    ['postgres://u:p@h:5432/bad-name', /letters, digits/],
  ])('refuses %s, naming --db', (url, problem) => {
    let error: unknown;
    try {
      parseDatabaseUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('--db');
    expect((error as Error).message).toMatch(problem);
  });
});

describe('sharemount server refuses bad input before starting anything (exit 2)', () => {
  let stderr: jest.SpyInstance;
  beforeEach(() => (stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true)));
  afterEach(() => stderr.mockRestore());
  const said = () => stderr.mock.calls.map((c) => String(c[0])).join('');

  it.each([
    [['--db', 'mysql://u:p@h:3306'], /--db: must be a postgres/],
    [['--db', 'postgres://u:p@h:5432', '--tls-cert', '/x.pem'], /--tls-key: mutual TLS needs --tls-cert, --tls-key, --tls-ca and --tls-server-name together/],
    [['--db', 'postgres://u:p@h:5432', '--port', '70000'], /--port/],
    [[], /--db/],
  ])('%j', async (args, message) => {
    const env = process.env.SHAREMOUNT_DB;
    delete process.env.SHAREMOUNT_DB;
    try {
      expect(await main(['node', 'sharemount', 'server', ...args])).toBe(2);
    } finally {
      if (env !== undefined) process.env.SHAREMOUNT_DB = env;
    }
    expect(said()).toMatch(message);
  });
});
