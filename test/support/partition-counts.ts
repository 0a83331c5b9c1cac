import type { PartitionCounts } from '../../common/types';
import { emptyCounters } from '../../common/types';

/** A partition's report as the batch receives it: its counters (zero where not given), not done. */
export function partitionCounts(
  partition: number,
  report: number,
  c: Partial<PartitionCounts['counters']>,
  extra: Partial<PartitionCounts> = {},
): PartitionCounts {
  return { partition, report, counters: { ...emptyCounters(0), ...c }, running: 0, done: false, ...extra };
}
