/** What each item source (stored entities, an uploaded file, pasted JSON) tells the batch form. */
import type { BatchItemSource, FieldIssue } from '../../api.ts';

export type SourceTab = 'entities' | 'upload' | 'paste';

export interface SourceSelection {
  /** How many items the batch would get; null while that is not known (or nothing is chosen). */
  count: number | null;
  /** The footer's words, e.g. "Selected: 2 restaurants". */
  summary: string;
  /** Why the batch cannot start yet (rows with errors, a check still running); Start is disabled. */
  blocked?: string;
  /** The item source of the create request, or the problem that stops it. */
  build(): { source: BatchItemSource } | { issue: FieldIssue };
  /** The first item, for a dry run. */
  firstItem(signal?: AbortSignal): Promise<unknown>;
}

/** "restaurant" -> "restaurants", "company" -> "companies", "batch" -> "batches". */
export function pluralOf(noun: string): string {
  if (/[^aeiou]y$/i.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

export const nounOf = (noun: string, n: number) => (n === 1 ? noun : pluralOf(noun));

/** "1 restaurant", "1,204 restaurants". */
export const countOf = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${nounOf(noun, n)}`;
