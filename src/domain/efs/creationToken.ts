/**
 * EFS CreateFileSystem is idempotent only through its CreationToken (1..64 characters); without one the SDK
 * makes a fresh UUID, so every retry would create another file system. The token is derived from the volume
 * name alone, so any worker, any retry and any later run lands on the same file system.
 */
import { validateVolumeName } from './names';

const PREFIX = 'sharemount-';
const MAX_TOKEN_LENGTH = 64;

export function creationToken(volumeName: string): string {
  const name = validateVolumeName(volumeName);
  const plain = `${PREFIX}${name}`;
  if (plain.length <= MAX_TOKEN_LENGTH) return plain;
  // Long names are cut, and a hash of the whole name keeps two names with the same prefix apart.
  const suffix = `-${fnv1a32(name)}`;
  return `${PREFIX}${name.slice(0, MAX_TOKEN_LENGTH - PREFIX.length - suffix.length)}${suffix}`;
}

/** FNV-1a, 32 bit, as 8 hex digits: pure arithmetic, so the domain stays importable from workflow code. */
function fnv1a32(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
