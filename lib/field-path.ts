/** Field paths as the API's error answers write them (contract/errors.ts FieldIssue). */
import type { FieldIssue } from '../contract/errors';

export type { FieldIssue };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}
