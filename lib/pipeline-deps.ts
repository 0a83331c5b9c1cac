import type { PipelineDeps } from '../pipelines/deps';
import { egressPolicyFromEnv } from './egress';
import { appUrl, env, filesDir, partnerApiUrl } from './env';

/** The pipelines' dependencies from the parsed environment. */
export function pipelineDepsFromEnv(): PipelineDeps {
  return {
    partnerBaseUrl: partnerApiUrl,
    partnerApiKey: env.PARTNER_API_KEY,
    filesDir,
    appUrl,
    ai: {
      baseUrl: env.OPENAI_BASE_URL,
      apiKey: env.OPENAI_API_KEY,
      model: env.OPENAI_MODEL,
      requestsPerMinute: env.AI_REQUESTS_PER_MINUTE,
    },
    smtp: {
      host: env.SMTP_HOST,
      port: env.SMTP_PORT,
      secure: env.SMTP_SECURE,
      user: env.SMTP_USER,
      password: env.SMTP_PASSWORD,
      from: env.SMTP_FROM,
    },
    chromiumPath: env.CHROMIUM_PATH,
    pdfRenderConcurrency: env.PDF_RENDER_CONCURRENCY,
    companySitesUrl: `http://127.0.0.1:${env.SITES_STANDIN_PORT}`,
    egress: egressPolicyFromEnv(),
  };
}
