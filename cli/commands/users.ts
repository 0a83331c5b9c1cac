/**
 * `users list [--org ID] | users disable|enable|revoke-sessions <userId>`: the super admin's user
 * management (GET/POST /api/admin/users…). Setting a password stays on the API: a password on a
 * command line ends up in shell history.
 */
import { z } from 'zod';
import { OrgId, UserId } from '../args';
import { defineCommand, printJson, type Command } from '../command';
import { table } from '../format';
import type { SessionsRevoked, UserList } from '../../contract/auth';

/** What GET /api/admin/users lists (api/auth/service.ts adminUserView). */

export const usersCommand: Command = defineCommand({
  name: 'users',
  usage: 'users list [--org ID] | users disable|enable|revoke-sessions <userId>',
  summary: 'super admins: list users, disable or enable one, sign one out everywhere',
  positionals: ['action', 'userId'],
  options: { org: { type: 'string' } },
  args: z
    .object({
      action: z.enum(['list', 'disable', 'enable', 'revoke-sessions']),
      userId: UserId.optional(),
      org: OrgId.optional(),
    })
    .refine((a) => a.action === 'list' || a.userId !== undefined, { path: ['userId'], message: 'is required' }),
  async run(a, ctx) {
    if (a.action === 'list') {
      const res = await ctx.api.json<UserList>(
        'GET',
        `/api/admin/users${a.org ? `?orgId=${encodeURIComponent(a.org)}` : ''}`,
      );
      if (ctx.json) return void printJson(ctx, res);
      const rows = res.users.map((u) => [
        u.id,
        u.email,
        u.org.id,
        u.role,
        u.canRunBatch ? 'yes' : 'no',
        u.disabledAt ? `disabled ${u.disabledAt}` : 'active',
      ]);
      return void ctx.out.write(
        rows.length ? `${table(['ID', 'E-MAIL', 'ORG', 'ROLE', 'RUN', 'STATE'], rows)}\n` : 'no users\n',
      );
    }
    const id = a.userId!;
    const res = await ctx.api.json<Partial<SessionsRevoked>>(
      'POST',
      `/api/admin/users/${encodeURIComponent(id)}/${a.action}`,
    );
    if (ctx.json) return void printJson(ctx, res);
    ctx.out.write(
      a.action === 'revoke-sessions' ? `signed ${id} out of ${res.revoked} session(s)\n` : `${a.action}d user ${id}\n`,
    );
  },
});
