/** What a plugin run leaves for the service to report, in the agent's terms (contracts.ResultStatus). */
export type PluginStatus = 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'SuccessAndReboot';

export interface PluginResult {
  status: PluginStatus;
  code: number;
  stdout: string;
  stderr: string;
}

/** Lets a running plugin be cancelled (CancelCommand) the way the agent's task.CancelFlag does. */
export interface CancelFlag {
  cancelled: boolean;
  onCancel(listener: () => void): void;
}

export function cancelFlag(): CancelFlag & { cancel(): void } {
  const listeners: Array<() => void> = [];
  const flag = {
    cancelled: false,
    // A plugin that starts after the cancel is stopped at once, as the agent's CancelFlag.Wait returns at once.
    onCancel: (listener: () => void) => (flag.cancelled ? listener() : void listeners.push(listener)),
    cancel() {
      if (flag.cancelled) return;
      flag.cancelled = true;
      for (const listener of listeners) listener();
    },
  };
  return flag;
}
