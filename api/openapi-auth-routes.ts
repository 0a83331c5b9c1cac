/**
 * OpenAPI rows of sign-in, API tokens and the super admin's organisations and users
 * (api/routes/auth.ts); spread into ROUTES in api/openapi-routes.ts.
 */
import type { RouteDoc } from './openapi';
import {
  AdminUserView,
  ApiTokenInfo,
  CreateOrgBody,
  CreateTokenBody,
  CreateUserBody,
  CreatedToken,
  ListUsersQuery,
  Me,
  OrgIdParam,
  SessionsRevoked,
  SetPasswordBody,
  SignInBody,
  TokenIdParam,
  TokenList,
  UpdateOrgBody,
  UserIdParam,
  UserList,
} from '../contract/auth';

const BAD_REQUEST = 'Invalid request: `error.details.issues` names each field';
const SUPER_ADMIN = '`forbidden`: only a super admin may do this';
const NO_USER = 'No such user';
const USER_VIEW = 'The user: `{ id, email, name, role, canRunBatch, org, disabledAt, createdAt }` (never a secret)';

export const AUTH_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/sign-in',
    summary: 'Sign in with e-mail and password: sets the httpOnly, SameSite=Strict session cookie',
    description:
      'Answers the user and the CSRF token that unsafe requests with the cookie must send as X-CSRF-Token. Limited per e-mail (RATE_LIMIT_SIGN_IN_PER_MINUTE) and per client address (three times that).',
    tag: 'auth',
    public: true,
    body: SignInBody,
    responses: {
      200: '{ user, csrfToken, expiresAt } and Set-Cookie: flotilla_session',
      400: BAD_REQUEST,
      401: '`unauthenticated`: wrong e-mail or password (one message for both)',
      429: '`rate_limited` (Retry-After)',
    },
  },
  {
    method: 'post',
    path: '/api/auth/sign-out',
    summary: 'End the session (the cookie is cleared and the session deleted)',
    tag: 'auth',
    bodyRequired: false,
    responses: { 204: 'Signed out' },
  },
  {
    method: 'get',
    path: '/api/auth/me',
    summary:
      'The caller: user, organisation and plan, the CSRF token of a session, and what the access phase lets them do',
    tag: 'auth',
    responses: { 200: { description: 'The caller', schema: Me } },
  },
  {
    method: 'get',
    path: '/api/auth/tokens',
    summary: "The caller's API tokens (never their secrets)",
    tag: 'auth',
    responses: { 200: { description: 'The tokens', schema: TokenList } },
  },
  {
    method: 'post',
    path: '/api/auth/tokens',
    summary: 'A new API token for scripts: the secret is in this answer only (stored as its SHA-256)',
    description:
      'A request authenticated by an API token that expires cannot make a token that outlives it: no `expiresInDays`, or one ending after the calling token, is a 400 naming `expiresInDays`. A signed-in session may make any token.',
    tag: 'auth',
    body: CreateTokenBody,
    responses: {
      201: { description: 'The token, with its secret (shown once)', schema: CreatedToken },
      400: `${BAD_REQUEST}; \`expiresInDays\` when the token would outlive the calling token`,
    },
  },
  {
    method: 'delete',
    path: '/api/auth/tokens/:id',
    summary: 'Revoke an API token (at once, for every API process)',
    tag: 'auth',
    params: TokenIdParam,
    responses: { 200: { description: 'The revoked token', schema: ApiTokenInfo }, 404: 'No such token of yours' },
  },
  {
    method: 'get',
    path: '/api/admin/orgs',
    summary: 'Organisations and their plans (super admin)',
    tag: 'admin',
    responses: { 200: '{ orgs }', 403: SUPER_ADMIN },
  },
  {
    method: 'post',
    path: '/api/admin/orgs',
    summary: 'Create an organisation with a plan (super admin)',
    tag: 'admin',
    body: CreateOrgBody,
    responses: { 201: 'The organisation', 400: BAD_REQUEST, 403: SUPER_ADMIN, 409: 'The ID is taken' },
  },
  {
    method: 'patch',
    path: '/api/admin/orgs/:id',
    summary: "Change an organisation's name, plan or upload row limit (super admin)",
    tag: 'admin',
    params: OrgIdParam,
    body: UpdateOrgBody,
    responses: { 200: 'The organisation', 400: BAD_REQUEST, 403: SUPER_ADMIN, 404: 'No such organisation' },
  },
  {
    method: 'post',
    path: '/api/admin/users',
    summary: 'Create a user in an organisation: role super_admin or member, can_run_batch (super admin)',
    tag: 'admin',
    body: CreateUserBody,
    responses: { 201: 'The user (without secrets)', 400: BAD_REQUEST, 403: SUPER_ADMIN, 409: 'The e-mail is taken' },
  },
  {
    method: 'get',
    path: '/api/admin/users',
    summary: 'Users of every organisation, or of `orgId` (super admin)',
    tag: 'admin',
    query: ListUsersQuery,
    responses: { 200: { description: 'The users', schema: UserList }, 400: BAD_REQUEST, 403: SUPER_ADMIN },
  },
  {
    method: 'put',
    path: '/api/admin/users/:id/password',
    summary: "Set a user's password (super admin): every session of the user ends",
    description:
      "Whoever knew the old password is signed out. A super admin setting their own password keeps the session they call from. The user's API tokens stay valid (revoke them, or disable the user).",
    tag: 'admin',
    params: UserIdParam,
    body: SetPasswordBody,
    responses: { 200: `${USER_VIEW} and \`sessionsRevoked\``, 400: BAD_REQUEST, 403: SUPER_ADMIN, 404: NO_USER },
  },
  {
    method: 'post',
    path: '/api/admin/users/:id/disable',
    summary: 'Disable a user (super admin): sign-in, their sessions and their API tokens are refused from now on',
    tag: 'admin',
    params: UserIdParam,
    bodyRequired: false,
    responses: {
      200: { description: USER_VIEW, schema: AdminUserView },
      403: SUPER_ADMIN,
      404: NO_USER,
      409: 'A super admin cannot disable themselves',
    },
  },
  {
    method: 'post',
    path: '/api/admin/users/:id/enable',
    summary: 'Enable a disabled user again (super admin); their unrevoked API tokens work again',
    tag: 'admin',
    params: UserIdParam,
    bodyRequired: false,
    responses: { 200: { description: USER_VIEW, schema: AdminUserView }, 403: SUPER_ADMIN, 404: NO_USER },
  },
  {
    method: 'post',
    path: '/api/admin/users/:id/revoke-sessions',
    summary: 'Sign a user out everywhere: all their sessions end (super admin; your own current session stays)',
    tag: 'admin',
    params: UserIdParam,
    bodyRequired: false,
    responses: {
      200: { description: 'How many sessions ended', schema: SessionsRevoked },
      403: SUPER_ADMIN,
      404: NO_USER,
    },
  },
];
