/**
 * company-enrichment: seed 000's batch scripts as one pipeline, one item = one company. The
 * batch's `operation` setting picks the script:
 * - enrich   (bulk_fixer): industry, segment, summary, keywords and contacts;
 * - headhunt (finder):     the same, for the contacts;
 * - clean    (cleaner):    segment audit: classify also answers RELEVANT/IRRELEVANT against a
 *                          target segment; find-contacts is skipped (`skipIf` on the setting).
 *
 * Steps: fetch-website (home page plus its about and team/contact pages over HTTP) ->
 * extract-facts (HTML -> text, title, description, links, e-mails, phones; no AI) -> classify,
 * summarise, find-contacts (AI, structured output validated by zod). Every AI call's token cost
 * is added to the item's cost (seed 000: "each AI call's estimated_cost is summed") and shown in
 * the step output.
 *
 * Outside services are injected (`createCompanyEnrichmentPipeline`); this module never reads
 * process.env.
 */
import { z } from 'zod';
import { AiClient, type AiUsage } from '../../lib/ai';
import type { EgressPolicy } from '../../lib/egress';
import type { AiSettings } from '../deps';
import {
  definePipeline,
  NonRetryableStepError,
  type SettledItem,
  type StepContext,
  type StepDefinition,
} from '../types';
import {
  Classification,
  CleanClassification,
  classifyMessages,
  Contacts,
  contactsMessages,
  Summary,
  summaryMessages,
  type CompanyBrief,
} from './analysis';
import { DEFAULT_SITES_BASE_URL, demoCompanies } from './demo-data';
import { extractFacts, findSubpages, stripNonText } from './extract';
import { fetchPage, type FetchPageOptions } from './fetch-page';
import { companyItemSchema, type CompanyItem, type CompanyItemInput } from './item';

export { companyItemSchema, type CompanyItem, type CompanyItemInput };

// ---------------------------------------------------------------------------------------------
// Schemas

/** What a model name looks like, in words (the API's message and the page's). */
const MODEL_HINT = 'a model name like gpt-4o-mini';
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

export const OPERATIONS = ['enrich', 'headhunt', 'clean'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const companyEnrichmentSettingsSchema = z.object({
  operation: z.enum(OPERATIONS).default('enrich'),
  /** Overrides the deployment's model (OPENAI_MODEL) for this batch. */
  model: z
    .string()
    .trim()
    .regex(MODEL_NAME, `Model must be ${MODEL_HINT}.`)
    .optional()
    .meta({ patternHint: MODEL_HINT }),
  /** For `clean`: who counts as RELEVANT. */
  targetSegment: z
    .string()
    .trim()
    .min(3)
    .max(300)
    .default('companies that sell to businesses or consumers and could buy B2B software'),
});
export type CompanyEnrichmentSettings = z.infer<typeof companyEnrichmentSettingsSchema>;

// ---------------------------------------------------------------------------------------------
// Step outputs

export interface FetchedPageOutput {
  kind: 'home' | 'about' | 'people';
  url: string;
  /** Without scripts, styles and comments, capped (step outputs travel in workflow history). */
  html: string;
  truncated: boolean;
}

export interface FetchWebsiteOutput {
  url: string;
  finalUrl: string;
  redirects: number;
  pages: FetchedPageOutput[];
  /** Subpages that could not be fetched (best effort: the item goes on without them). */
  missing: Array<{ kind: string; url: string; reason: string }>;
}

export interface ExtractFactsOutput {
  title: string | null;
  description: string | null;
  language: string | null;
  pages: Array<{ kind: FetchedPageOutput['kind']; url: string; title: string | null; text: string }>;
  links: string[];
  emails: string[];
  phones: string[];
}

type AiOutput = Pick<AiUsage, 'model' | 'tokens' | 'costUsd'>;

export type ClassifyOutput = Classification & {
  relevance: 'RELEVANT' | 'IRRELEVANT' | null;
  reason: string | null;
} & AiOutput;
export type SummariseOutput = Summary & AiOutput;
export interface FindContactsOutput extends Partial<AiOutput> {
  contacts: Contacts['contacts'];
  /** The page the contacts come from; null when the site has no team/contact/about page. */
  source: string | null;
  /** E-mails the model gave that are not printed on the site (dropped). */
  unverifiedEmails: number;
}

export const STEP_NAMES = ['fetch-website', 'extract-facts', 'classify', 'summarise', 'find-contacts'] as const;

// ---------------------------------------------------------------------------------------------

export interface CompanyEnrichmentDeps {
  ai: AiSettings;
  /** Base URL of the company-sites stand-in, for the demo items. */
  sitesBaseUrl?: string;
  /** Which website addresses may be fetched (the egress guard's allowlist). */
  egress: EgressPolicy;
  fetch?: Pick<FetchPageOptions, 'timeoutMs' | 'maxBytes' | 'userAgent'>;
  aiTimeoutMs?: number;
}

/** Per page kept in the fetch-website output. */
const MAX_STORED_HTML = 60_000;

type Ctx = StepContext<CompanyItem, CompanyEnrichmentSettings>;

function required<T>(ctx: Ctx, step: (typeof STEP_NAMES)[number]): T {
  const out = ctx.previous[step];
  if (out === undefined || out === null)
    throw new NonRetryableStepError(`step ${step} left no output; cannot continue`, 'MissingStepOutput');
  return out as T;
}

function compactHtml(html: string): string {
  const compact = stripNonText(html).replace(/\s+/g, ' ');
  return compact.length > MAX_STORED_HTML ? compact.slice(0, MAX_STORED_HTML) : compact;
}

function briefOf(ctx: Ctx, facts: ExtractFactsOutput): CompanyBrief {
  const text = facts.pages
    .filter((p) => p.kind !== 'people')
    .map((p) => p.text)
    .join('\n\n');
  return {
    name: ctx.item.name,
    country: ctx.item.country,
    website: ctx.item.website,
    title: facts.title,
    description: facts.description,
    text,
  };
}

const aiOutput = (u: AiUsage): AiOutput => ({ model: u.model, tokens: u.tokens, costUsd: u.costUsd });

export function companyItemKey(item: CompanyItem, index: number): string {
  if (item.key) return item.key;
  if (item.domain) return item.domain;
  try {
    return new URL(item.website).host || String(index + 1);
  } catch {
    return String(index + 1);
  }
}

/** The item's cost is not repeated here: every export already has the engine's `cost_usd` (the sum of the AI calls). */
export function companyExportColumns(row: SettledItem): Record<string, string | number | boolean | null> {
  const c = row.outputs['classify'] as ClassifyOutput | undefined;
  const s = row.outputs['summarise'] as SummariseOutput | undefined;
  const f = row.outputs['find-contacts'] as FindContactsOutput | undefined;
  return {
    industry: c?.industry ?? null,
    segment: c?.segment ?? null,
    relevance: c?.relevance ?? null,
    summary: s?.summary ?? null,
    contacts: f ? f.contacts.length : null,
    contact_emails: f ? f.contacts.flatMap((x) => (x.email ? [x.email] : [])).join('; ') || null : null,
  };
}

export function createCompanyEnrichmentPipeline(deps: CompanyEnrichmentDeps) {
  const ai = new AiClient(deps.ai, { timeoutMs: deps.aiTimeoutMs });
  return definePipeline({
    name: 'company-enrichment',
    title: 'Company enrichment',
    description:
      'Fetches each company website and has AI classify it, summarise it and find its people. Operation: enrich, headhunt (contacts) or clean (segment audit: RELEVANT/IRRELEVANT).',
    version: 1,
    itemNoun: 'company',
    entityKind: 'company',
    itemSchema: companyItemSchema,
    settingsSchema: companyEnrichmentSettingsSchema,
    itemKey: companyItemKey,
    demoItems: () => demoCompanies(deps.sitesBaseUrl ?? DEFAULT_SITES_BASE_URL),
    exportColumns: companyExportColumns,
    // AI calls go through a queue of their own so the provider's rate limit holds across workers.
    queues: {
      ai: { concurrency: 20, ...(deps.ai.requestsPerMinute ? { ratePerMinute: deps.ai.requestsPerMinute } : {}) },
    },
    steps: [...websiteSteps(deps), ...aiSteps(ai)],
  });
}

/** The steps that read the company's website: fetch its pages, then extract facts from them (no AI). */
function websiteSteps(deps: CompanyEnrichmentDeps): StepDefinition<CompanyItem, CompanyEnrichmentSettings>[] {
  const fetchOpts = (ctx: Ctx): FetchPageOptions => ({
    ...deps.fetch,
    egress: deps.egress,
    maxRedirects: 3,
    signal: ctx.signal,
  });

  return [
    {
      name: 'fetch-website',
      description:
        'Downloads the home page and its about and team/contact pages (http/https, ≤3 redirects, timeout, size cap).',
      run: async (ctx): Promise<FetchWebsiteOutput> => {
        const home = await fetchPage(ctx.item.website, fetchOpts(ctx));
        const pages: FetchedPageOutput[] = [
          {
            kind: 'home',
            url: home.finalUrl,
            html: compactHtml(home.html),
            truncated: home.truncated || home.html.length > MAX_STORED_HTML,
          },
        ];
        const missing: FetchWebsiteOutput['missing'] = [];
        const sub = findSubpages(extractFacts(home.html, home.finalUrl).links, home.finalUrl);
        for (const kind of ['about', 'people'] as const) {
          const url = sub[kind];
          if (!url) continue;
          ctx.heartbeat({ fetching: kind });
          try {
            const page = await fetchPage(url, fetchOpts(ctx));
            pages.push({
              kind,
              url: page.finalUrl,
              html: compactHtml(page.html),
              truncated: page.truncated || page.html.length > MAX_STORED_HTML,
            });
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            // Subpages are best effort: the home page alone still classifies and summarises.
            missing.push({ kind, url, reason: (err as Error).message });
            ctx.log.warn('subpage not fetched', { kind, url, reason: (err as Error).message });
          }
        }
        return { url: ctx.item.website, finalUrl: home.finalUrl, redirects: home.redirects, pages, missing };
      },
    },
    {
      name: 'extract-facts',
      description: 'HTML to text, title, description, links, e-mails and phones (no AI).',
      run: async (ctx): Promise<ExtractFactsOutput> => {
        const fetched = required<FetchWebsiteOutput>(ctx, 'fetch-website');
        const pages = fetched.pages.map((p) => ({ kind: p.kind, facts: extractFacts(p.html, p.url) }));
        const home = pages[0]!.facts;
        return {
          title: home.title,
          description: home.description,
          language: home.language,
          pages: pages.map((p) => ({ kind: p.kind, url: p.facts.url, title: p.facts.title, text: p.facts.text })),
          links: home.links,
          emails: [...new Set(pages.flatMap((p) => p.facts.emails))],
          phones: [...new Set(pages.flatMap((p) => p.facts.phones))],
        };
      },
    },
  ];
}

/** The AI steps: classify, summarise and find contacts from the extracted facts (on the `ai` queue). */
function aiSteps(ai: AiClient): StepDefinition<CompanyItem, CompanyEnrichmentSettings>[] {
  return [
    {
      name: 'classify',
      queue: 'ai',
      description: 'AI: industry, segment, confidence; for clean also RELEVANT/IRRELEVANT.',
      run: async (ctx): Promise<ClassifyOutput> => {
        const facts = required<ExtractFactsOutput>(ctx, 'extract-facts');
        const clean = ctx.settings.operation === 'clean';
        const messages = classifyMessages(briefOf(ctx, facts), { clean, targetSegment: ctx.settings.targetSegment });
        if (clean) {
          const { value, usage } = await ai.structured(ctx, {
            schema: CleanClassification,
            name: 'company_relevance',
            messages,
            model: ctx.settings.model,
          });
          return { ...value, ...aiOutput(usage) };
        }
        const { value, usage } = await ai.structured(ctx, {
          schema: Classification,
          name: 'company_classification',
          messages,
          model: ctx.settings.model,
        });
        return { ...value, relevance: null, reason: null, ...aiOutput(usage) };
      },
    },
    {
      name: 'summarise',
      result: 'companies enriched',
      queue: 'ai',
      description: 'AI: a short summary and keywords.',
      run: async (ctx): Promise<SummariseOutput> => {
        const facts = required<ExtractFactsOutput>(ctx, 'extract-facts');
        const { value, usage } = await ai.structured(ctx, {
          schema: Summary,
          name: 'company_summary',
          messages: summaryMessages(briefOf(ctx, facts)),
          model: ctx.settings.model,
        });
        return {
          summary: value.summary.trim(),
          keywords: [...new Set(value.keywords.map((k) => k.trim().toLowerCase()).filter(Boolean))],
          ...aiOutput(usage),
        };
      },
    },
    {
      name: 'find-contacts',
      result: 'contact lists found',
      queue: 'ai',
      description: 'AI: people with role and e-mail from the team/contact page (not for clean).',
      skipIf: { path: 'settings.operation', equals: 'clean', reason: 'the operation is clean (no contacts wanted)' },
      run: async (ctx): Promise<FindContactsOutput> => {
        const facts = required<ExtractFactsOutput>(ctx, 'extract-facts');
        const page = facts.pages.find((p) => p.kind === 'people') ?? facts.pages.find((p) => p.kind === 'about');
        // No page that lists people: nothing to ask the model (and nothing to pay for).
        if (!page || !page.text.trim()) return { contacts: [], source: null, unverifiedEmails: 0 };
        const { value, usage } = await ai.structured(ctx, {
          schema: Contacts,
          name: 'company_contacts',
          messages: contactsMessages(ctx.item.name, page.text),
          model: ctx.settings.model,
        });
        return { ...verifyContacts(value.contacts, page.text), source: page.url, ...aiOutput(usage) };
      },
    },
  ];
}

/**
 * Keeps what the page supports: an e-mail the page does not print is a guess and is dropped
 * (the person stays); nameless entries and repeats go.
 */
export function verifyContacts(
  contacts: Contacts['contacts'],
  pageText: string,
): { contacts: Contacts['contacts']; unverifiedEmails: number } {
  const text = pageText.toLowerCase();
  const seen = new Set<string>();
  const out: Contacts['contacts'] = [];
  let unverifiedEmails = 0;
  for (const c of contacts) {
    const name = c.name.replace(/\s+/g, ' ').trim();
    if (!name) continue;
    let email = c.email?.trim().toLowerCase() || null;
    if (email && !text.includes(email)) {
      unverifiedEmails++;
      email = null;
    }
    const id = email ?? `name:${name.toLowerCase()}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ name, role: c.role.replace(/\s+/g, ' ').trim(), email });
  }
  return { contacts: out, unverifiedEmails };
}

export type CompanyEnrichmentPipeline = ReturnType<typeof createCompanyEnrichmentPipeline>;
