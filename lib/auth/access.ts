/**
 * Who may do what (seed 000 D1, seed 003). Batch operations touch every customer record, so they
 * open in phases: in phase 1 (the default) only super admins use them; in phase 2 an
 * organisation's users may too, when the organisation's plan has `batch_operations` and the user's
 * role grants `can_run_batch`. Reading is allowed to the organisation's users whenever the plan
 * has batch operations; starting, controlling, scheduling and uploading needs `can_run_batch`.
 */

import type { Plan, UserRole } from '../../contract/auth';

/**
 * The plan_limits of the seeds: batch operations are off on Free, Pro and Team. Rows of one
 * uploaded item file, and rows of one file imported into stored entities (seed 002's recipient
 * lists reach a million on Enterprise).
 */
export const PLAN_LIMITS: Record<Plan, { batchOperations: boolean; maxUploadRows: number; maxImportRows: number }> = {
  free: { batchOperations: false, maxUploadRows: 1_000, maxImportRows: 1_000 },
  pro: { batchOperations: false, maxUploadRows: 10_000, maxImportRows: 50_000 },
  team: { batchOperations: false, maxUploadRows: 10_000, maxImportRows: 250_000 },
  enterprise: { batchOperations: true, maxUploadRows: 10_000, maxImportRows: 1_000_000 },
};

/** The row limits a super admin can raise per organisation. */
export type RowLimit = 'maxUploadRows' | 'maxImportRows';

export type AccessPhase = 1 | 2;

/** The caller of a request, resolved from a session cookie or an API token. */
export interface Principal {
  userId: string;
  email: string;
  orgId: string;
  role: UserRole;
  canRunBatch: boolean;
  plan: Plan;
  /** Org row limit overrides (set by a super admin); else the plan's. */
  maxUploadRows: number | null;
  maxImportRows: number | null;
  via: 'session' | 'token';
  /** Set for session callers: unsafe requests must echo it in X-CSRF-Token. */
  csrfToken?: string;
  sessionId?: string;
  tokenId?: string;
  /** Set for token callers: when the token expires (null: never). A token mints none that outlives it. */
  tokenExpiresAt?: Date | null;
}

export type Access = 'read' | 'run';

/** Null when allowed, else the reason (answered 403). */
export function denial(p: Principal, access: Access, phase: AccessPhase): string | null {
  if (p.role === 'super_admin') return null;
  if (phase === 1) return 'batch operations are open to super admins only (access phase 1)';
  if (!PLAN_LIMITS[p.plan].batchOperations) return `batch operations are not part of the ${p.plan} plan`;
  if (access === 'run' && !p.canRunBatch) return 'your role does not have the can_run_batch permission';
  return null;
}

/**
 * The most rows an uploaded item file (`maxUploadRows`) or an imported entity file
 * (`maxImportRows`) may have for this caller: the organisation's override, else for a super
 * admin the deployment's, else the plan's within the deployment's.
 */
export function rowLimit(p: Principal | undefined, which: RowLimit, deploymentDefault: number): number {
  if (!p) return deploymentDefault;
  const own = p[which];
  if (own !== null) return own;
  if (p.role === 'super_admin') return deploymentDefault;
  return Math.min(deploymentDefault, PLAN_LIMITS[p.plan][which]);
}
