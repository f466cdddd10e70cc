// Type-only imports of denied modules are erased: this one must bundle.
import type { ErrorObject } from 'ajv';
import type { Activities } from '../../../src/activities';
import { volumeProblems } from '../../../src/domain/lxc/volume';

export async function checksVolume(error: ErrorObject, activities: Activities | undefined): Promise<number> {
  return volumeProblems({ name: error.keyword, hostPath: '/srv/x', owner: { kind: 'default' }, mounts: [] }).length + (activities ? 1 : 0);
}
