/**
 * Every pipeline this deployment runs. Adding a pipeline: write its module in pipelines/ and add
 * it here; the engine does not change.
 */
import { createAiPromptPipeline } from './ai-prompt';
import { createCompanyEnrichmentPipeline } from './company-enrichment';
import type { PipelineDeps } from './deps';
import { createDmCreativePipeline } from './dm-creative';
import { closeSharedPdfRenderPools } from './dm-creative/pdf-pool';
import { noopPipeline } from './noop';
import { createRestaurantRegistrationPipeline } from './restaurant-registration';
import { demoRestaurants } from './restaurant-registration/demo-data';
import type { PipelineDefinition } from './types';

export type { PipelineDeps } from './deps';

export function createPipelines(deps: PipelineDeps): PipelineDefinition[] {
  return [
    {
      ...createRestaurantRegistrationPipeline({
        partnerBaseUrl: deps.partnerBaseUrl,
        partnerApiKey: deps.partnerApiKey,
      }),
      demoItems: () => demoRestaurants,
      entityKind: 'restaurant',
    },
    createDmCreativePipeline(deps),
    createCompanyEnrichmentPipeline({ ai: deps.ai, sitesBaseUrl: deps.companySitesUrl, egress: deps.egress }),
    createAiPromptPipeline({ ai: deps.ai }),
    noopPipeline,
  ] as unknown as PipelineDefinition[];
}

/** Releases what pipelines hold per worker process (the PDF browser pool); call on shutdown. */
export async function closePipelineResources(): Promise<void> {
  await closeSharedPdfRenderPools();
}

export class PipelineRegistry {
  private readonly byName: Map<string, PipelineDefinition>;
  constructor(readonly all: PipelineDefinition[]) {
    this.byName = new Map(all.map((p) => [p.name, p]));
  }
  get(name: string): PipelineDefinition | undefined {
    return this.byName.get(name);
  }
  names(): string[] {
    return [...this.byName.keys()];
  }
}
