/** One company-enrichment item: a company and its website (the schema doubles as the type). */
import { z } from 'zod';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A bare `acme.com` from a spreadsheet means its https home page. */
const websiteSchema = z.preprocess(
  (v) =>
    typeof v === 'string' && v.trim() && !/^[a-z][a-z0-9+.-]*:/i.test(v.trim())
      ? `https://${v.trim()}`
      : typeof v === 'string'
        ? v.trim()
        : v,
  z.url({ protocol: /^https?$/, error: 'website must be an http(s) URL' }).max(2000),
);

export const companyItemSchema = z.looseObject({
  /** Id in the source system; the item key (else the domain, else the website's host). */
  key: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:@-]*$/, 'key may contain letters, digits, spaces and . _ : @ - only')
    .optional(),
  domain: z.string().trim().toLowerCase().regex(HOSTNAME, 'domain must be a host name like acme.com').optional(),
  name: z.string().trim().min(1).max(200),
  website: websiteSchema,
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'country must be an ISO 3166-1 alpha-2 code, e.g. DE')
    .optional(),
});
export type CompanyItem = z.infer<typeof companyItemSchema>;
export type CompanyItemInput = z.input<typeof companyItemSchema>;
