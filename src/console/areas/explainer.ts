import type { Context } from 'koa';
import { explainableApplications, explainNamed, type AccessExplanation } from '../../domain/access/explanation.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, paths } from '../context.js';
import { errorMessage, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * The explainer, for a support team: pick a user and an application and see the roles a token
 * would carry with the chain of grants behind each, whether projectRoleCheck or hasProjectCheck
 * would refuse the login, and which org's login policy the user meets and what it asks of them.
 * The answer is the Management API's (src/domain/access/explanation.ts). A GET form: the answer
 * is a link that can be passed on.
 */
const query = (ctx: Context, name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim().slice(0, 320) : '');

async function explainPage(ctx: Context): Promise<void> {
  const c = consoleState(ctx);
  const orgId = c.org!.id;
  const apps = await explainableApplications(c.svc, orgId);
  const user = query(ctx, 'user');
  const clientId = query(ctx, 'clientId') || query(ctx, 'app');
  const errors: FieldErrors = {};
  let answer: AccessExplanation | undefined;
  if (user || clientId) {
    if (!user) errors.user = c.t('form.required');
    if (!clientId) errors.app = c.t('explain.pickApp');
    if (user && clientId) {
      try {
        answer = await explainNamed(c.svc, orgId, user, clientId);
      } catch (err) {
        if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
        errors[err.reason === 'explain.application_unknown' ? 'app' : err.reason === 'explain.user_unknown' ? 'user' : '_form'] = errorMessage(ctx, err);
      }
    }
  }
  await renderConsole(
    ctx,
    'explain',
    {
      apps,
      values: { user, app: query(ctx, 'app'), clientId: query(ctx, 'clientId') },
      errors,
      answer,
      checkOrder: ['user_active', 'application_active', 'project_active', 'projectRoleCheck', 'hasProjectCheck'],
    },
    { titleKey: 'explain.title', navKey: 'explainer', status: Object.keys(errors).length ? 400 : 200 },
  );
}

export const explainerArea: ConsoleArea = {
  nav: { key: 'explainer', labelKey: 'nav.explainer', order: 70, permission: 'user.grant.read', path: paths.explain },
  routes(router) {
    router.get('/orgs/:orgId/explain', inOrg, explainPage);
  },
};
