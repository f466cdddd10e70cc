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
}

export async function activityRecords(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const byScheduled = new Map<string, ActivityRecord>();
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    if (event.activityTaskScheduledEventAttributes) {
      byScheduled.set(id, { type: event.activityTaskScheduledEventAttributes.activityType?.name ?? '?', attempts: 1, completed: false, failed: false });
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) byScheduled.get(String(started.scheduledEventId))!.attempts = started.attempt ?? 1;
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) byScheduled.get(String(completed.scheduledEventId))!.completed = true;
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (failed) {
      const record = byScheduled.get(String(failed.scheduledEventId))!;
      record.failed = true;
      record.failure = failed.failure?.message ?? undefined;
    }
  }
  return [...byScheduled.values()];
}
