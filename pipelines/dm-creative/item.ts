/**
 * One dm-creative item: a recipient of the campaign (the schema doubles as the type). Columns
 * beyond the standard ones are kept as they are (text, numbers, yes/no) for templates whose
 * placeholders name them (`{{storeName}}`).
 */
import { z } from 'zod';

export const optionalText = (max: number) => z.string().trim().max(max).optional();

export const recipientItemSchema = z
  .object({
    /** The recipient's id in the campaign; the item key, the PDF's name and part of the tracking URL. */
    trackingId: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'trackingId may contain letters, digits and . _ - only'),
    name: z.string().trim().min(1).max(80),
    lastname: z.string().trim().min(1).max(80),
    address: optionalText(200),
    city: optionalText(100),
    zip: optionalText(16),
    /** The personalised message, plain text; blank lines separate paragraphs. */
    message: z.string().trim().min(1).max(2_000),
    /** The number the recipient is asked to call (often a per-campaign tracking number). */
    phoneNumber: z
      .string()
      .trim()
      .regex(/^\+?[0-9][0-9 ()./-]{3,30}$/, 'phoneNumber must be digits, spaces and + ( ) . / - only'),
  })
  .catchall(z.union([z.string().max(2_000), z.number(), z.boolean()]));

export type RecipientItem = z.infer<typeof recipientItemSchema>;
export type RecipientItemInput = z.input<typeof recipientItemSchema>;
