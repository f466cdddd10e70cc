/**
 * The two clocks of an SSM command, checked before it is sent. The agent silently replaces an executionTimeout
 * outside 5..172800 s with 3600 (amazon-ssm-agent, pluginutil.ValidateExecutionTimeout), and SendCommand refuses
 * a TimeoutSeconds outside 30..2592000: both are bad input here, named, instead of a surprise on the instance.
 */
import { InputError } from '../errors';

export interface CommandTimeouts {
  /** SendCommand TimeoutSeconds: how long the agent may take to pick the command up (delivery). */
  deliveryTimeoutSeconds: number;
  /** The document's executionTimeout: how long the script may run before the agent kills it. */
  executionTimeoutSeconds: number;
}

export const DEFAULT_COMMAND_TIMEOUTS: CommandTimeouts = { deliveryTimeoutSeconds: 120, executionTimeoutSeconds: 600 };

const LIMITS = {
  deliveryTimeoutSeconds: { min: 30, max: 2592000, field: 'deliveryTimeoutSeconds' },
  executionTimeoutSeconds: { min: 5, max: 172800, field: 'executionTimeoutSeconds' },
} as const;

function checked(value: number | undefined, key: keyof CommandTimeouts): number {
  if (value === undefined) return DEFAULT_COMMAND_TIMEOUTS[key];
  const { min, max, field } = LIMITS[key];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(field, `${String(value)} is not a whole number of seconds from ${min} to ${max}; leave it out for ${DEFAULT_COMMAND_TIMEOUTS[key]}`);
  }
  return value;
}

export function commandTimeouts(given: Partial<CommandTimeouts> = {}): CommandTimeouts {
  return {
    deliveryTimeoutSeconds: checked(given.deliveryTimeoutSeconds, 'deliveryTimeoutSeconds'),
    executionTimeoutSeconds: checked(given.executionTimeoutSeconds, 'executionTimeoutSeconds'),
  };
}
