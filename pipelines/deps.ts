import type { EgressPolicy } from '../lib/egress';
import type { CreativeTemplateStore } from './dm-creative/template-store';

/**
 * What pipelines need from the deployment: the outside services they call and where they keep
 * files. Built once from the environment (lib/pipeline-deps.ts) or by a test.
 */
export interface AiSettings {
  /** OpenAI-compatible base URL (e.g. https://api.openai.com/v1); AI steps fail non-retryably without it. */
  baseUrl?: string;
  apiKey?: string;
  model: string;
  /** AI steps of each pipeline start at most this many calls per minute across all workers. */
  requestsPerMinute?: number;
}

export interface SmtpSettings {
  /** No host: e-mails are not sent (the batch-end result says so). */
  host?: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
}

export interface PipelineDeps {
  partnerBaseUrl: string;
  partnerApiKey: string;
  /** Root of pipeline files: `<filesDir>/<batchId>/<name>`. */
  filesDir: string;
  /** Public URL of the app, for links in e-mails. */
  appUrl: string;
  ai: AiSettings;
  smtp: SmtpSettings;
  chromiumPath: string;
  /** Concurrent renders per worker on the PDF queue. */
  pdfRenderConcurrency: number;
  /** Base URL of the company-websites stand-in the demo companies point at (default http://127.0.0.1:4030). */
  companySitesUrl?: string;
  /** Where user-supplied URLs (company websites) may lead: the egress guard's policy. */
  egress: EgressPolicy;
  /** Where dm-creative reads creative templates (the database); only the built-in letter without it. */
  creativeTemplates?: CreativeTemplateStore;
}
