/**
 * Twelve fictional companies for demos and tests. Their websites live on the company-sites
 * stand-in (sandbox/company-sites/), whose port is only known when it runs, hence a function of
 * its base URL. On purpose: Nimbus Cloud's address moved (one redirect), Quiet Harbour is a
 * parked domain (IRRELEVANT when cleaning, no people page), Atlas Legal's site is gone (404:
 * that item fails without retries).
 */
import type { CompanyItemInput } from './item';

export const DEFAULT_SITES_BASE_URL = 'http://127.0.0.1:4030';

const COMPANIES: Array<{ slug: string; name: string; country: string }> = [
  { slug: 'northwind-robotics', name: 'Northwind Robotics GmbH', country: 'DE' },
  { slug: 'bluepeak-analytics', name: 'Bluepeak Analytics Ltd', country: 'GB' },
  { slug: 'harbor-freight-lines', name: 'Harbor Freight Lines B.V.', country: 'NL' },
  { slug: 'greenleaf-grocers', name: 'Greenleaf Grocers', country: 'IE' },
  { slug: 'lumen-health', name: 'Lumen Health Inc.', country: 'US' },
  { slug: 'fintrail-payments', name: 'Fintrail Payments AB', country: 'SE' },
  { slug: 'brightpath-academy', name: 'Brightpath Academy', country: 'CA' },
  { slug: 'solstice-energy', name: 'Solstice Energy S.L.', country: 'ES' },
  { slug: 'copperpot-kitchens', name: 'Copperpot Kitchens & Co', country: 'FR' },
  { slug: 'nimbus-cloud', name: 'Nimbus Cloudworks', country: 'US' },
  { slug: 'quiet-harbour-holdings', name: 'Quiet Harbour Holdings', country: 'GB' },
  { slug: 'atlas-legal', name: 'Atlas Legal Partners', country: 'AU' },
];

export function demoCompanies(sitesBaseUrl: string = DEFAULT_SITES_BASE_URL): CompanyItemInput[] {
  const base = sitesBaseUrl.replace(/\/+$/, '');
  return COMPANIES.map((c) => ({
    key: c.slug,
    domain: `${c.slug}.example`,
    name: c.name,
    website: `${base}/${c.slug}/`,
    country: c.country,
  }));
}
