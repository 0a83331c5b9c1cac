import type { Client } from '@temporalio/client';

/** Deletes the schedules a test file made, whatever happened; one already gone is no error. */
export async function deleteSchedules(client: Client | undefined, ids: Iterable<string>): Promise<void> {
  if (!client) return;
  for (const id of ids)
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
}
