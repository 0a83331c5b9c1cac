import { z } from 'zod';
import { definePipeline } from './types';

/**
 * Three steps that do nothing but return: the benchmark pipeline that measures the engine's own
 * overhead against plain Temporal workflows.
 */
export const noopPipeline = definePipeline({
  name: 'noop',
  title: 'No-op (benchmark)',
  description: 'Three steps that return at once; measures the engine, not the work.',
  version: 1,
  itemNoun: 'item',
  itemSchema: z.object({ key: z.string().min(1).max(200).optional() }).passthrough(),
  settingsSchema: z.object({}).passthrough(),
  itemKey: (item, index) => item.key ?? String(index + 1),
  demoItems: () => Array.from({ length: 100 }, (_, i) => ({ key: `demo-${i + 1}` })),
  steps: [
    { name: 'one', run: async () => ({ ok: 1 }) },
    { name: 'two', run: async () => ({ ok: 2 }) },
    { name: 'three', run: async () => ({ ok: 3 }) },
  ],
});
