/**
 * Step executions as Temporal recorded them: for each activity a workflow scheduled, its type, how many
 * attempts it took (ActivityTaskStarted carries the attempt that finished) and whether it completed.
 */
import type { WorkflowHandle } from '@temporalio/client';

export interface ActivityRecord {
  type: string;
  attempts: number;
  completed: boolean;
  failed: boolean;
  failure?: string;
  /** From scheduled to the last attempt's close, by the server's clock. */
  durationMs?: number;
}

type EventTime = { seconds?: unknown; nanos?: number | null } | null | undefined;
const msOf = (time: EventTime) => Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;

export async function activityRecords(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const byScheduled = new Map<string, ActivityRecord>();
  const scheduledAt = new Map<string, number>();
  const close = (scheduledEventId: unknown, time: EventTime) => {
    const record = byScheduled.get(String(scheduledEventId))!;
    record.durationMs = msOf(time) - scheduledAt.get(String(scheduledEventId))!;
    return record;
  };
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    if (event.activityTaskScheduledEventAttributes) {
      byScheduled.set(id, { type: event.activityTaskScheduledEventAttributes.activityType?.name ?? '?', attempts: 1, completed: false, failed: false });
      scheduledAt.set(id, msOf(event.eventTime));
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) byScheduled.get(String(started.scheduledEventId))!.attempts = started.attempt ?? 1;
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) close(completed.scheduledEventId, event.eventTime).completed = true;
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (failed) {
      const record = close(failed.scheduledEventId, event.eventTime);
      record.failed = true;
      record.failure = failed.failure?.message ?? undefined;
    }
  }
  return [...byScheduled.values()];
}
