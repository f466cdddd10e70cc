import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import schema from './schema.json';

/** The JSON schema sharemount ships for phoenix_hypervisor_config.json (a compatible superset of Phoenix's). */
export const LXC_CONFIG_SCHEMA = schema;

let compiled: ValidateFunction | undefined;

/** Ajv's verdict on an already parsed document; compiled once per process. */
export function schemaErrors(document: unknown): ErrorObject[] {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(schema);
  return compiled(document) ? [] : [...(compiled.errors ?? [])];
}

/** `/shared_volumes/models/mounts/950` -> `shared_volumes.models.mounts.950`, the form errors name fields in. */
export function dottedPath(instancePath: string, child?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.length ? parts.join('.') : '$';
}
