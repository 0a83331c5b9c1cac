import { z } from 'zod';
import { definePipeline } from '../../pipelines/types';

/**
 * A pipeline with typed, required and optional fields, so mapping and coercion have work to do;
 * its items are stored entities of kind `contact` (a stand-in for seed 002's recipients), keyed by
 * e-mail. Used by the upload and the entity-import tests.
 */
export const contactsPipeline = definePipeline({
  name: 'contacts',
  title: 'Contacts (test)',
  description: 'Greets a contact.',
  version: 1,
  itemNoun: 'contact',
  entityKind: 'contact',
  itemSchema: z.object({
    email: z.email(),
    name: z.string().min(1),
    age: z.number().int().positive().optional(),
    vip: z.boolean().optional(),
    tags: z.array(z.string()).optional(),
  }),
  settingsSchema: z.object({}),
  itemKey: (item) => item.email,
  steps: [{ name: 'greet', run: async (ctx: { item: { name: string } }) => ({ greeting: `hello ${ctx.item.name}` }) }],
});
