/** Request shapes of sign-in, API tokens and the super admin's organisations and users. */
import { z } from 'zod';

export const PLANS = ['free', 'pro', 'team', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];
export const USER_ROLES = ['super_admin', 'member'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const SignInBody = z
  .object({ email: z.string().trim().min(3).max(200), password: z.string().min(1).max(200) })
  .strict();
export type SignInBody = z.infer<typeof SignInBody>;

export const CreateTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** Token expires after this many days; never when absent (revoke it instead). */
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;

export const TokenIdParam = z.object({ id: z.string().regex(/^tok_[A-Za-z0-9_-]{1,40}$/, 'invalid token id') });

/** The most a super admin can raise one organisation's import row limit to. */
export const MAX_IMPORT_ROWS_OVERRIDE = 10_000_000;

export const OrgIdParam = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,49}$/, 'an organisation id is 2-50 lowercase letters, digits or -'),
});

export const CreateOrgBody = z
  .object({
    id: OrgIdParam.shape.id,
    name: z.string().trim().min(1).max(200),
    plan: z.enum(PLANS).default('free'),
    /** Row limit of one uploaded item file for the org's users (the plan's when absent). */
    maxUploadRows: z.number().int().min(1).max(1_000_000).optional(),
    /** Row limit of one file imported into stored entities (the plan's when absent). */
    maxImportRows: z.number().int().min(1).max(MAX_IMPORT_ROWS_OVERRIDE).optional(),
  })
  .strict();
export type CreateOrgBody = z.infer<typeof CreateOrgBody>;

export const UpdateOrgBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    plan: z.enum(PLANS).optional(),
    maxUploadRows: z.number().int().min(1).max(1_000_000).nullable().optional(),
    maxImportRows: z.number().int().min(1).max(MAX_IMPORT_ROWS_OVERRIDE).nullable().optional(),
  })
  .strict();
export type UpdateOrgBody = z.infer<typeof UpdateOrgBody>;

const Password = z.string().min(12, 'a password needs at least 12 characters').max(200);

export const CreateUserBody = z
  .object({
    email: z.email().max(200),
    password: Password,
    name: z.string().trim().min(1).max(200).optional(),
    orgId: OrgIdParam.shape.id,
    role: z.enum(USER_ROLES).default('member'),
    canRunBatch: z.boolean().default(false),
  })
  .strict();
export type CreateUserBody = z.infer<typeof CreateUserBody>;

export const UserIdParam = z.object({ id: z.string().regex(/^usr_[A-Za-z0-9_-]{1,40}$/, 'invalid user id') });

export const ListUsersQuery = z.object({ orgId: OrgIdParam.shape.id.optional() }).strict();
export type ListUsersQuery = z.infer<typeof ListUsersQuery>;

export const SetPasswordBody = z.object({ password: Password }).strict();
export type SetPasswordBody = z.infer<typeof SetPasswordBody>;

/** A user as any answer shows one: never a password hash or a session. */
export const UserView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  role: z.enum(USER_ROLES),
  canRunBatch: z.boolean(),
  org: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
});
export type UserView = z.infer<typeof UserView>;
/** A user as the super admin's user list shows one. */
export const AdminUserView = UserView.extend({ disabledAt: z.string().nullable(), createdAt: z.string() });
export type AdminUserView = z.infer<typeof AdminUserView>;
export const UserList = z.object({ users: z.array(AdminUserView) });
export type UserList = z.infer<typeof UserList>;
export const SessionsRevoked = z.object({ revoked: z.number().int() });
export type SessionsRevoked = z.infer<typeof SessionsRevoked>;

/** The caller as GET /api/auth/me answers. */
export const Me = z.object({
  user: UserView,
  via: z.enum(['session', 'token']),
  csrfToken: z
    .string()
    .optional()
    .meta({ description: "the session's CSRF token: sent as X-CSRF-Token on every unsafe request" }),
  access: z.object({
    phase: z.union([z.literal(1), z.literal(2)]),
    read: z.boolean(),
    run: z.boolean(),
    reason: z.string().optional(),
  }),
});
export type Me = z.infer<typeof Me>;

/** An API token as listed: never the secret (only its first characters, `prefix`). */
export const ApiTokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
});
export type ApiTokenInfo = z.infer<typeof ApiTokenInfo>;
export const TokenList = z.object({ tokens: z.array(ApiTokenInfo) });
export type TokenList = z.infer<typeof TokenList>;
/** The one answer that carries a token's secret: its creation. */
export const CreatedToken = ApiTokenInfo.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;
