import { InputError, InputErrors } from '../errors';
import { describe, pathProblem } from './paths';
import { nestedHostPathErrors } from './hostPaths';
import { dottedPath, schemaErrors } from './schema';
import {
  CONTAINER_ROOT,
  isCtid,
  MAX_CTID,
  MIN_CTID,
  IDS_RULE,
  idsFrom,
  mountOptionsProblem,
  ownerFrom,
  STRATEGY_SETTINGS,
  type StrategySetting,
  USER_NAME_RULE,
  VOLUME_NAME,
  VOLUME_NAME_RULE,
  type LxcMount,
  type LxcVolume,
  type OwnerSpec,
} from './volume';

/** A loaded phoenix_hypervisor_config.json, as far as sharemount reads it. */
export interface LxcConfig {
  /** Sorted by name; only the one named by `--volume` when it was given. */
  volumes: LxcVolume[];
}

const VOLUME_KEYS = ['host_path', 'owner', 'mounts', 'read_only', 'mountoptions', 'backup', 'strategy', 'disk_owner'];

/**
 * Reads Phoenix's phoenix_hypervisor_config.json as it is. Everything that is wrong is reported at once as
 * InputErrors, each naming the JSON path of the value and the fix; nothing is guessed.
 */
export function parseLxcConfig(text: string, options: { volume?: string } = {}): LxcConfig {
  const document = parseJson(text);
  const errors: InputError[] = [];
  const volumes = readVolumes(document, errors);
  if (errors.length === 0) {
    // The shipped schema is the second wall: it must agree with the checks above, and if it ever does not,
    // its verdict still stops the run.
    for (const e of schemaErrors(document)) {
      const child = e.params as { missingProperty?: string; additionalProperty?: string; propertyName?: string };
      const field = dottedPath(e.instancePath, child.missingProperty ?? child.additionalProperty ?? child.propertyName);
      errors.push(new InputError(field, `does not match the schema: ${e.message ?? e.keyword}`));
    }
  }
  if (errors.length === 0) checkContainerPathsUnique(volumes, errors);
  if (errors.length === 0) errors.push(...nestedHostPathErrors(volumes));
  let selected = volumes;
  if (options.volume !== undefined) {
    selected = volumes.filter((v) => v.name === options.volume);
    if (selected.length === 0 && errors.length === 0) {
      const known = volumes.map((v) => v.name).join(', ') || 'none';
      errors.push(new InputError('--volume', `no volume named ${JSON.stringify(options.volume)} in shared_volumes (known: ${known})`));
    }
  }
  if (errors.length) throw new InputErrors(errors);
  return { volumes: selected };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let where = '';
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw new InputErrors([new InputError('$', `is not valid JSON${where}: ${message}`)]);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readVolumes(document: unknown, errors: InputError[]): LxcVolume[] {
  if (!isObject(document)) {
    errors.push(new InputError('$', `must be a JSON object (the Phoenix hypervisor config), found ${describe(document)}`));
    return [];
  }
  const shared = document.shared_volumes;
  if (shared === undefined) return [];
  if (!isObject(shared)) {
    errors.push(new InputError('shared_volumes', `must be an object of volumes by name, found ${describe(shared)}`));
    return [];
  }
  const volumes: LxcVolume[] = [];
  for (const name of Object.keys(shared).sort()) {
    const volume = readVolume(name, shared[name], errors);
    if (volume) volumes.push(volume);
  }
  return volumes;
}

function readVolume(name: string, entry: unknown, errors: InputError[]): LxcVolume | undefined {
  const field = `shared_volumes.${name}`;
  const before = errors.length;
  if (!isObject(entry) || (!('host_path' in entry) && !('mounts' in entry))) {
    const found = isObject(entry) ? `an object with keys ${Object.keys(entry).join(', ') || '(none)'}` : describe(entry);
    errors.push(
      new InputError(
        field,
        `is not a volume: a volume is an object with host_path and mounts (and optionally owner), found ${found}; move this entry out of shared_volumes`,
      ),
    );
    return undefined;
  }
  if (!VOLUME_NAME.test(name)) {
    errors.push(new InputError(field, VOLUME_NAME_RULE));
  }
  for (const key of Object.keys(entry)) {
    if (!VOLUME_KEYS.includes(key)) {
      errors.push(
        new InputError(`${field}.${key}`, `unknown key in a volume (known: ${VOLUME_KEYS.join(', ')}); a misspelling would silently change what is applied`),
      );
    }
  }
  let hostPath = '';
  if (!('host_path' in entry)) errors.push(new InputError(`${field}.host_path`, 'is missing: say which host directory is shared'));
  else {
    const problem = pathProblem(entry.host_path, 'host path');
    if (problem) errors.push(new InputError(`${field}.host_path`, problem));
    else hostPath = entry.host_path as string;
  }
  const owner = readOwner(`${field}.owner`, entry.owner, errors);
  const mounts: LxcMount[] = [];
  if (!('mounts' in entry)) errors.push(new InputError(`${field}.mounts`, 'is missing: an object of "<ctid>": "<container path>"'));
  else if (!isObject(entry.mounts)) {
    errors.push(new InputError(`${field}.mounts`, `must be an object of "<ctid>": "<container path>", found ${describe(entry.mounts)}`));
  } else {
    for (const [key, containerPath] of Object.entries(entry.mounts)) {
      const mountField = `${field}.mounts.${key}`;
      const ctid = readCtid(mountField, key, errors);
      const problem = pathProblem(containerPath, 'container path');
      if (problem) errors.push(new InputError(mountField, problem));
      if (ctid !== undefined && !problem) mounts.push({ ctid, containerPath: containerPath as string });
    }
    if (owner?.kind === 'container_root' && Object.keys(entry.mounts).length === 0) {
      errors.push(new InputError(`${field}.owner`, 'is container_root but no container mounts the volume; add mounts or name a host user'));
    }
  }
  const settings = readMountSettings(field, entry, errors);
  if (errors.length > before || !owner) return undefined;
  mounts.sort((a, b) => a.ctid - b.ctid);
  return { name, hostPath, owner, mounts, ...settings };
}

type VolumeSettings = Pick<LxcVolume, 'readOnly' | 'mountOptions' | 'backup' | 'strategy' | 'diskOwner'>;

/** read_only, mountoptions, backup, strategy and disk_owner: how the volume is mounted and owned. */
function readMountSettings(field: string, entry: Record<string, unknown>, errors: InputError[]): VolumeSettings {
  const settings: VolumeSettings = {};
  for (const [key, target] of [
    ['read_only', 'readOnly'],
    ['backup', 'backup'],
  ] as const) {
    const value = entry[key];
    if (value === undefined) continue;
    if (typeof value === 'boolean') settings[target] = value;
    else errors.push(new InputError(`${field}.${key}`, `must be true or false, found ${describe(value)}`));
  }
  if (entry.mountoptions !== undefined) {
    const problem = mountOptionsProblem(entry.mountoptions);
    if (problem) errors.push(new InputError(`${field}.mountoptions`, `${problem}, found ${describe(entry.mountoptions)}`));
    else settings.mountOptions = entry.mountoptions as string;
  }
  if (entry.strategy !== undefined) {
    if (STRATEGY_SETTINGS.includes(entry.strategy as StrategySetting)) settings.strategy = entry.strategy as StrategySetting;
    else
      errors.push(
        new InputError(`${field}.strategy`, `must be one of ${STRATEGY_SETTINGS.map((s) => `"${s}"`).join(', ')}, found ${describe(entry.strategy)}`),
      );
  }
  if (entry.disk_owner !== undefined) {
    const ids = idsFrom(entry.disk_owner);
    if (ids) settings.diskOwner = ids;
    else errors.push(new InputError(`${field}.disk_owner`, `must be ${IDS_RULE}, found ${describe(entry.disk_owner)}`));
  }
  return settings;
}

function readOwner(field: string, value: unknown, errors: InputError[]): OwnerSpec | undefined {
  const owner = ownerFrom(value);
  if (owner) return owner;
  const found = typeof value === 'string' ? JSON.stringify(value) : describe(value);
  errors.push(new InputError(field, `must be ${USER_NAME_RULE}, "${CONTAINER_ROOT}" or ${IDS_RULE} (ids inside the containers), found ${found}`));
  return undefined;
}

function readCtid(field: string, key: string, errors: InputError[]): number | undefined {
  if (!/^[0-9]+$/.test(key)) {
    errors.push(new InputError(field, `container ID ${JSON.stringify(key)} is not a number; Proxmox CTIDs are ${MIN_CTID}..${MAX_CTID}`));
    return undefined;
  }
  const ctid = Number(key);
  if (!/^[1-9]/.test(key) || !isCtid(ctid)) {
    errors.push(new InputError(field, `container ID ${key} is outside ${MIN_CTID}..${MAX_CTID} (or has a leading zero)`));
    return undefined;
  }
  return ctid;
}

/** Two volumes at the same mount point of one container cannot both be mounted: the second hides the first. */
function checkContainerPathsUnique(volumes: LxcVolume[], errors: InputError[]): void {
  const seen = new Map<string, string>();
  for (const volume of volumes) {
    for (const mount of volume.mounts) {
      const key = `${mount.ctid}\0${mount.containerPath}`;
      const other = seen.get(key);
      const field = `shared_volumes.${volume.name}.mounts.${mount.ctid}`;
      if (other) {
        errors.push(
          new InputError(field, `container ${mount.ctid} already mounts volume ${other} at ${mount.containerPath}; give one of them another container path`),
        );
      } else seen.set(key, volume.name);
    }
  }
}
