import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { InputError } from '../../../src/domain/errors';
import { settingsFromEnv } from '../../../src/temporal/connection';
import { runCli } from '../../support/cliProcess';
import { testServerAddress } from '../../support/temporal';

let dir: string;
/** No variable from the machine running the tests, and a config directory of the test's own. */
let base: Record<string, string>;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-envconfig-'));
  base = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeToml(text: string, file = path.join(dir, 'temporal.toml')): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function inputErrorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

const PROFILES = `
[profile.default]
address = "10.0.0.1:7233"
namespace = "from-default"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "key-from-profile"
`;

describe('settingsFromEnv', () => {
  it('with no file and no variables leaves the address unset, so the CLI picks the local or embedded server', () => {
    expect(settingsFromEnv(base)).toEqual({ address: undefined, namespace: 'default', apiKey: undefined, tls: undefined });
  });

  it('reads the default profile of the file TEMPORAL_CONFIG_FILE names', () => {
    const file = writeToml(PROFILES);
    expect(settingsFromEnv({ ...base, TEMPORAL_CONFIG_FILE: file })).toMatchObject({ address: '10.0.0.1:7233', namespace: 'from-default', tls: undefined });
  });

  it("finds temporal.toml in the user's config directory, as the Temporal CLI does", () => {
    writeToml(PROFILES, path.join(base.XDG_CONFIG_HOME, 'temporalio', 'temporal.toml'));
    expect(settingsFromEnv(base).address).toBe('10.0.0.1:7233');
  });

  it('selects the profile TEMPORAL_PROFILE names; an API key turns TLS on', () => {
    const file = writeToml(PROFILES);
    expect(settingsFromEnv({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'ns.acct',
      apiKey: 'key-from-profile',
      tls: true,
    });
  });

  it('lets the TEMPORAL_* variables win over the profile, and treats an empty one as unset', () => {
    const file = writeToml(PROFILES);
    const env = {
      ...base,
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_ADDRESS: 'other:7233',
      TEMPORAL_NAMESPACE: 'ns2',
      TEMPORAL_API_KEY: '',
    };
    expect(settingsFromEnv(env)).toMatchObject({ address: 'other:7233', namespace: 'ns2', apiKey: 'key-from-profile' });
  });

  it('reads the documented TLS variables: certificate files are loaded, TEMPORAL_TLS=false turns TLS off', () => {
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, 'CA');
    const cert = path.join(dir, 'client.pem');
    fs.writeFileSync(cert, 'CERT');
    const key = path.join(dir, 'client.key');
    fs.writeFileSync(key, 'KEY');
    const settings = settingsFromEnv({
      ...base,
      TEMPORAL_ADDRESS: 'tls.example:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_NAME: 'server.example',
    });
    expect(settings.tls).toEqual({
      serverNameOverride: 'server.example',
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    expect(settingsFromEnv({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }).tls).toBe(false);
  });

  it('names the setting to fix: an unknown profile, a file that is not TOML, a certificate that is missing', () => {
    const file = writeToml(PROFILES);
    expect(inputErrorOf(() => settingsFromEnv({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }))).toMatchObject({
      field: 'TEMPORAL_PROFILE',
      problem: expect.stringMatching(/Profile 'nope' not found/),
    });
    const broken = writeToml('[profile.default\naddress = 1', path.join(dir, 'broken.toml'));
    expect(inputErrorOf(() => settingsFromEnv({ ...base, TEMPORAL_CONFIG_FILE: broken })).field).toBe('TEMPORAL_CONFIG_FILE');
    const missing = path.join(dir, 'missing.pem');
    expect(inputErrorOf(() => settingsFromEnv({ ...base, TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing })).field).toBe('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  });

  it('connects to the real server a profile names', async () => {
    const file = writeToml(`[profile.test]\naddress = "${testServerAddress()}"\n`);
    const settings = settingsFromEnv({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'test' });
    const connection = await Connection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
  });
});

describe('the built CLI with a temporal.toml profile', () => {
  it('connects where the profile points when TEMPORAL_ADDRESS is unset', async () => {
    const file = writeToml(`[profile.unreachable]\naddress = "127.0.0.1:1"\n`);
    const result = await runCli(['list'], { ...base, TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'unreachable' });
    expect(result.stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1/);
    expect(result.code).toBe(3);
  });

  it('lets TEMPORAL_ADDRESS win over the profile', async () => {
    const file = writeToml(`[profile.unreachable]\naddress = "127.0.0.1:1"\n`);
    const result = await runCli(['list'], { ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'unreachable' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('an unknown profile is bad input (exit 2) naming TEMPORAL_PROFILE', async () => {
    const file = writeToml(PROFILES);
    const result = await runCli(['list'], { ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' });
    expect(result.stderr).toMatch(/TEMPORAL_PROFILE: cannot load the Temporal connection settings: Profile 'nope' not found/);
    expect(result.code).toBe(2);
  });
});
