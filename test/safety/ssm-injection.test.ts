/**
 * The injection corpus against the values the SSM side sends: a Distributor package name and version. The
 * validator refuses every payload naming its field, and the activity refuses it before SendCommand (a mocked
 * SSM client, only to count the calls that must not happen).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import * as path from 'node:path';
import { createEfsActivities, plainRuntime } from '../../src/activities/efs';
import { validatePackage } from '../../src/domain/efs/distributor';
import { injectionPayloads } from '../support/injectionPayloads';
import { fieldOf } from '../support/failures';

const PAYLOADS = injectionPayloads(path.join('/tmp', 'sharemount-ssm-pwned'));

test('every payload as a package name or version is refused, naming the field', () => {
  const missed = PAYLOADS.flatMap((p) => [
    ...(fieldOf(() => validatePackage(`AmazonEFSUtils${p}`)) === 'packageName' ? [] : [`packageName ${JSON.stringify(p)}`]),
    ...(fieldOf(() => validatePackage('AmazonEFSUtils', `2.3.1${p}`)) === 'version' ? [] : [`version ${JSON.stringify(p)}`]),
  ]);
  expect(missed).toEqual([]);
  expect(fieldOf(() => validatePackage('AmazonEFSUtils', '2.3.1'))).toBeUndefined();
});

test('mocked SSM client: installPackageOnInstance refuses every payload before any SendCommand', async () => {
  const ssm = mockClient(SSMClient);
  try {
    const activities = createEfsActivities({
      efs: new EFSClient({ region: 'us-east-1' }),
      ec2: new EC2Client({ region: 'us-east-1' }),
      ssm: new SSMClient({ region: 'us-east-1' }),
      runtime: plainRuntime,
    });
    for (const p of PAYLOADS) {
      await expect(activities.installPackageOnInstance({ instanceId: 'i-0123456789abcdef0', packageName: `AmazonEFSUtils${p}` })).rejects.toThrow(
        'packageName:',
      );
      await expect(activities.installPackageOnInstance({ instanceId: 'i-0123456789abcdef0', packageName: 'AmazonEFSUtils', version: p })).rejects.toThrow(
        'version:',
      );
    }
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  } finally {
    ssm.restore();
  }
});
