/**
 * Every query key the page uses, defined once. Keys are arrays whose prefixes group what one
 * change makes stale: `queryKeys.batches.all` covers the history, every batch and its items.
 */
import type { BatchFilters } from '../router.ts';
import type { ColumnMapping, EntityFilters } from '../api.ts';

export const queryKeys = {
  health: ['health'] as const,
  pipelines: ['pipelines'] as const,
  demoItems: (pipeline: string) => ['pipelines', pipeline, 'demo-items'] as const,
  estimate: (pipeline: string, items: number, concurrency: number) =>
    ['pipelines', pipeline, 'estimate', { items, concurrency }] as const,
  batches: {
    all: ['batches'] as const,
    history: (statuses: readonly string[] | undefined, filters: BatchFilters) =>
      ['batches', 'history', { statuses, filters }] as const,
    detail: (id: string) => ['batches', 'detail', id] as const,
    /** How many batches each status has (the history tabs' counts). */
    stats: ['batches', 'stats'] as const,
    /** Every filter of one batch's items (the prefix a refresh invalidates). */
    items: (id: string) => ['batches', 'items', id] as const,
    itemsBy: (id: string, status: string) => ['batches', 'items', id, status] as const,
    analytics: (id: string) => ['batches', 'analytics', id] as const,
  },
  schedules: ['schedules'] as const,
  templates: ['templates'] as const,
  creativeTemplates: {
    pages: ['creative-templates', 'pages'] as const,
    choices: ['creative-templates', 'choices'] as const,
    /** A saved template's sample preview: its version names its content, so a new version is a new key. */
    preview: (id: string, version: string) => ['creative-templates', 'preview', id, version] as const,
  },
  entities: {
    /** Everything about one kind of entity: its pages and its facets. */
    kind: (kind: string) => ['entities', kind] as const,
    page: (kind: string, q: { search: string; filters: EntityFilters; cursor: string | null }) =>
      ['entities', kind, 'page', q] as const,
    facets: (kind: string) => ['entities', kind, 'facets'] as const,
  },
  entityImport: (id: string) => ['entity-imports', id] as const,
  importErrors: (id: string) => ['entity-imports', id, 'errors'] as const,
  uploadCheck: (uploadId: string, pipeline: string, mapping: ColumnMapping | null) =>
    ['uploads', uploadId, 'check', { pipeline, mapping }] as const,
  tokens: ['auth', 'tokens'] as const,
};
