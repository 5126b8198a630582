import type { Context } from 'koa';
import { z } from 'zod';
import { searchOrgUsers } from '../../domain/user/queries.js';
import { createHumanUser, createMachineUser } from '../../domain/user/service.js';
import { consoleState, flash, paths } from '../context.js';
import { listParams, optional, pager, parseForm, refusal, required, sortLink, type FieldErrors } from '../forms.js';
import type { ConsoleArea, ConsoleDeps } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { userPageRoutes } from './user-page.js';

/**
 * The Users area: search (login name, email, name; state and type; paged and sorted), create a
 * human user (who is mailed an invitation to set a password) or a machine user, and each user's
 * page (user-page.ts). Needs user.read to see, user.write to change.
 */
const states = ['initial', 'active', 'inactive', 'locked'] as const;
const sortable = ['username', 'displayName', 'email', 'state', 'type', 'createdAt'] as const;

const humanForm = z.object({
  username: required(),
  email: required(320).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'form.email'),
  givenName: optional(),
  familyName: optional(),
  displayName: optional(),
  phone: optional(50),
  preferredLanguage: z.enum(['', 'en', 'de']).optional(),
});
const machineForm = z.object({ username: required(), name: required(), description: optional(1000), accessTokenType: z.enum(['jwt', 'opaque']) });

async function newUserPage(ctx: Context, type: 'human' | 'machine', values: Record<string, unknown> = {}, errors: FieldErrors = {}, status = 200) {
  await renderConsole(
    ctx,
    'user-new',
    { type, values, errors },
    { titleKey: type === 'human' ? 'users.newHuman' : 'users.newMachine', navKey: 'users', status },
  );
}

export const usersArea: ConsoleArea = {
  nav: { key: 'users', labelKey: 'nav.users', order: 20, permission: 'user.read', path: paths.users },
  routes(router, d: ConsoleDeps) {
    router.get('/orgs/:orgId/users', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const p = listParams(ctx, sortable, 'username');
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
      const state = states.find((s) => s === ctx.query.state);
      const type = ctx.query.type === 'human' || ctx.query.type === 'machine' ? ctx.query.type : undefined;
      const page = await searchOrgUsers(c.svc, c.org!.id, { text: q, state, type }, p);
      await renderConsole(
        ctx,
        'users',
        {
          users: page.rows,
          q,
          state: state ?? '',
          type: type ?? '',
          states,
          pager: pager(ctx, page.total, p),
          sort: (f: string) => sortLink(ctx, f, p),
          canWrite: c.perms.can('user.write', { orgId: c.org!.id }),
        },
        { titleKey: 'users.title', navKey: 'users' },
      );
    });

    router.get('/orgs/:orgId/users/new', inOrg, async (ctx) => {
      await newUserPage(ctx, ctx.query.type === 'machine' ? 'machine' : 'human');
    });

    router.post('/orgs/:orgId/users/human', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, humanForm);
      if (!form.ok) return newUserPage(ctx, 'human', form.values, form.errors, 400);
      const { preferredLanguage, ...rest } = form.data;
      let id: string;
      try {
        ({ id } = await createHumanUser(c.svc, { ...rest, preferredLanguage: preferredLanguage || undefined, orgId: c.org!.id }));
      } catch (err) {
        return newUserPage(
          ctx,
          'human',
          form.data,
          refusal(ctx, err, {
            'user.username_taken': 'username',
            'org.inactive': '_form',
          }),
          400,
        );
      }
      // Sent after the user is stored: a mail that fails leaves the user created, with a message saying so.
      try {
        await d.notifier.initialPassword(c.svc.scope, id, ctx.state.origin);
        await flash(ctx, 'ok', c.t('users.createdInvited', { email: form.data.email }));
      } catch (err) {
        ctx.app.emit('error', err, ctx);
        await flash(ctx, 'error', c.t('users.createdNotMailed'));
      }
      ctx.redirect(paths.user(c.org!.id, id));
    });

    router.post('/orgs/:orgId/users/machine', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, machineForm);
      if (!form.ok) return newUserPage(ctx, 'machine', form.values, form.errors, 400);
      try {
        const { id } = await createMachineUser(c.svc, { ...form.data, orgId: c.org!.id });
        await flash(ctx, 'ok', c.t('users.created'));
        ctx.redirect(paths.user(c.org!.id, id));
      } catch (err) {
        await newUserPage(ctx, 'machine', form.data, refusal(ctx, err, { 'user.username_taken': 'username' }), 400);
      }
    });

    userPageRoutes(router, d);
  },
};
