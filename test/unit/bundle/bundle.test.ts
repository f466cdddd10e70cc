import path from 'node:path';

type Bundle = (workflowsPath: string, logger: Record<string, () => void>) => Promise<string>;
const { bundleWorkflows } = require('../../../scripts/bundle-workflows.js') as { bundleWorkflows: Bundle };

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
/** Webpack's own report of a failed build goes to the logger; the error message is what is checked here. */
const bundle = (name: string) => bundleWorkflows(path.join(__dirname, `${name}.workflow.ts`), silent);

describe('the workflow bundle deny list', () => {
  it('fails when the JSON-schema validator enters through the config loader', async () => {
    await expect(bundle('importsAjv')).rejects.toThrow(/must not be in the workflow bundle:\n {2}- ajv, imported by src\/domain\/lxc\/schema\.ts\n/);
  });

  it('fails when a workflow imports activity code, naming the project file and the AWS SDK it drags in', async () => {
    const error: Error = await bundle('importsActivities').then(
      () => new Error('bundled'),
      (e: Error) => e,
    );
    expect(error.message).toMatch(
      /- src\/activities\/efs\/index\.ts \(workflows import only domain code.*\), imported by test\/unit\/bundle\/importsActivities\.workflow\.ts\n/,
    );
    expect(error.message).toMatch(/- @aws-sdk\/client-ssm, imported by src\/host\/aws\/\w+\.ts\n/);
  });

  it('fails on a Node built-in that the SDK itself would let through', async () => {
    await expect(bundle('importsUtil')).rejects.toThrow(
      /must not be in the workflow bundle:\n {2}- util \(a Node built-in\), imported by test\/unit\/bundle\/importsUtil\.workflow\.ts\n/,
    );
  });

  it('accepts type-only imports of denied modules and the pure volume rules', async () => {
    const code = await bundle('typesOnly');
    expect(code).toContain('checksVolume');
    expect(code).not.toContain('node_modules/ajv/');
  });
});
