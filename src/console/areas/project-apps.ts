import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import {
  createApplication,
  deactivateApplication,
  deleteApplication,
  reactivateApplication,
  regenerateClientSecret,
  updateApplication,
  usesSecret,
  type ApplicationSettings,
  type AppType,
  type AuthMethod,
} from '../../domain/project/applications.js';
import { projectApp, projectApps, projectInOrg } from '../../domain/project/queries.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checkbox, errorMessage, lines, listParams, pager, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import type { ConsoleDeps } from '../index.js';
import { inOrg } from './home.js';
import { projectParams, renderProjectPage } from './project-pages.js';

/**
 * A project's applications (web, user agent, native, API): redirect and post-logout URIs, auth
 * method, token type and the role-assertion flags. A client secret exists only on the response
 * that made it (creation, regeneration, a move to a secret auth method): shown once, never again.
 */
export const appTypes: AppType[] = ['web', 'user_agent', 'native', 'api'];
export const authMethods: AuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'];

const settingsFields = {
  name: required(),
  authMethod: z.enum(authMethods as [AuthMethod, ...AuthMethod[]], 'form.invalid'),
  redirectUris: lines(),
  postLogoutRedirectUris: lines(),
  accessTokenType: z.enum(['jwt', 'opaque'], 'form.invalid'),
  idTokenRoleAssertion: checkbox,
  accessTokenRoleAssertion: checkbox,
  idTokenUserinfoAssertion: checkbox,
  refreshTokens: checkbox,
  devMode: checkbox,
};
const newForm = z.object({ appType: z.enum(appTypes as [AppType, ...AppType[]], 'form.invalid'), ...settingsFields });
const editForm = z.object({ version, ...settingsFields });
const versionForm = z.object({ version });

/** Which field a refusal of the application service belongs to. */
const fieldOf = {
  'application.auth_method_not_allowed': 'authMethod',
  'application.redirect_uri_invalid': 'redirectUris',
  'application.redirect_uri_insecure': 'redirectUris',
  'application.redirect_uri_missing': 'redirectUris',
  invalid_input: '_form',
};

function settingsOf(f: z.output<typeof editForm> | z.output<typeof newForm>, appType: AppType): ApplicationSettings {
  const api = appType === 'api';
  return {
    name: f.name,
    authMethod: f.authMethod,
    redirectUris: f.redirectUris,
    postLogoutRedirectUris: f.postLogoutRedirectUris,
    accessTokenType: f.accessTokenType,
    idTokenRoleAssertion: f.idTokenRoleAssertion,
    accessTokenRoleAssertion: f.accessTokenRoleAssertion,
    idTokenUserinfoAssertion: f.idTokenUserinfoAssertion,
    devMode: f.devMode,
    grantTypes: api ? [] : f.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    responseTypes: api ? [] : ['code'],
  };
}

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors };
const appParams = (ctx: Context) => (ctx as unknown as { params: { appId: string } }).params;

async function listPage(ctx: Context): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const p = listParams(ctx, ['name', 'createdAt', 'clientId'], 'name');
  const { project, page } = await projectApps(c.svc, orgId, projectId, {}, p);
  await renderProjectPage(
    ctx,
    'project-apps',
    project,
    'apps',
    {
      apps: page.rows,
      pager: pager(ctx, page.total, p),
      canWrite: c.perms.can('project.app.write', { orgId, projectId }),
    },
    { titleKey: 'project.appsTitle' },
  );
}

async function newPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const project = await projectInOrg(c.svc, orgId, projectId, 'project.app.write');
  const values = state.values ?? { appType: 'web', authMethod: 'client_secret_basic', accessTokenType: 'jwt', refreshTokens: 'on' };
  await renderProjectPage(
    ctx,
    'project-app-new',
    project,
    'apps',
    { values, errors: state.errors ?? {}, appTypes, authMethods },
    { titleKey: 'app.newTitle', status },
  );
}

async function appPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const { project, app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
  const on = { orgId, projectId };
  await renderProjectPage(
    ctx,
    'project-app',
    project,
    'apps',
    {
      app,
      authMethods,
      usesSecret: usesSecret(app.auth_method),
      values: state.values,
      errors: state.errors ?? {},
      can: { write: c.perms.can('project.app.write', on), delete: c.perms.can('project.app.delete', on) },
    },
    { titleKey: 'app.title', titleVars: { app: app.name }, status },
  );
}

/** The secret of this response only: no redirect, no cache (render sets no-store). */
async function secretPage(ctx: Context, clientId: string, clientSecret: string, back: string): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const project = await projectInOrg(c.svc, orgId, projectId);
  await renderProjectPage(
    ctx,
    'shown-once',
    project,
    'apps',
    {
      heading: c.t('app.secretTitle'),
      items: [
        { label: c.t('project.clientId'), value: clientId },
        { label: c.t('app.clientSecret'), value: clientSecret },
      ],
      back,
      doneLabel: c.t('app.secretDone'),
    },
    { titleKey: 'app.secretTitle' },
  );
}

export function projectAppRoutes(router: Router, _d: ConsoleDeps): void {
  const base = '/orgs/:orgId/projects/:projectId/apps';
  router.get(base, inOrg, listPage);
  router.get(`${base}/new`, inOrg, (ctx) => newPage(ctx));

  router.post(base, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    await projectInOrg(c.svc, orgId, projectId);
    const form = parseForm(ctx, newForm);
    if (!form.ok) return newPage(ctx, form, 400);
    let made: Awaited<ReturnType<typeof createApplication>>;
    try {
      made = await createApplication(c.svc, projectId, {
        ...settingsOf(form.data, form.data.appType),
        name: form.data.name,
        appType: form.data.appType,
        authMethod: form.data.authMethod,
      });
    } catch (err) {
      return newPage(ctx, { values: form.values, errors: refusal(ctx, err, fieldOf) }, 400);
    }
    const back = paths.projectApp(orgId, projectId, made.id);
    if (made.clientSecret) return secretPage(ctx, made.clientId, made.clientSecret, back);
    await flash(ctx, 'ok', c.t('app.created', { name: form.data.name }));
    ctx.redirect(back);
  });

  const one = `${base}/:appId`;
  router.get(one, inOrg, (ctx) => appPage(ctx));

  router.post(one, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
    const form = parseForm(ctx, editForm);
    if (!form.ok) return appPage(ctx, form, 400);
    let secret: { clientSecret?: string };
    try {
      secret = await atVersion(c.svc, 'application', app.id, form.data.version, (svc) => updateApplication(svc, app.id, settingsOf(form.data, app.app_type)));
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return appPage(ctx, { values: form.values, errors: refusal(ctx, err, fieldOf) }, stale ? 409 : 400);
    }
    const back = paths.projectApp(orgId, projectId, app.id);
    if (secret.clientSecret) return secretPage(ctx, app.client_id, secret.clientSecret, back);
    await flash(ctx, 'ok', c.t('app.saved'));
    ctx.redirect(back);
  });

  router.post(`${one}/secret`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
    const back = paths.projectApp(orgId, projectId, app.id);
    try {
      const { clientSecret } = await regenerateClientSecret(c.svc, app.id);
      return secretPage(ctx, app.client_id, clientSecret, back);
    } catch (err) {
      if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
      await flash(ctx, 'error', errorMessage(ctx, err));
      ctx.redirect(back);
    }
  });

  for (const [name, fn] of [
    ['deactivate', deactivateApplication],
    ['reactivate', reactivateApplication],
  ] as const) {
    router.post(`${one}/${name}`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { orgId, projectId } = projectParams(ctx);
      const { app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
      const form = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atVersion(c.svc, 'application', app.id, form.ok ? form.data.version : undefined, (svc) => fn(svc, app.id)),
        c.t(`app.${name}d`),
        paths.projectApp(orgId, projectId, app.id),
      );
    });
  }

  router.get(`${one}/delete`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { project, app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
    if (!c.perms.can('project.app.delete', { orgId, projectId })) {
      ctx.status = 404;
      return;
    }
    await renderProjectPage(ctx, 'project-app-delete', project, 'apps', { app }, { titleKey: 'app.deleteTitle', titleVars: { app: app.name } });
  });

  router.post(`${one}/delete`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { app } = await projectApp(c.svc, orgId, projectId, appParams(ctx).appId);
    const form = parseForm(ctx, versionForm);
    try {
      await atVersion(c.svc, 'application', app.id, form.ok ? form.data.version : undefined, (svc) => deleteApplication(svc, app.id));
    } catch (err) {
      if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
      await flash(ctx, 'error', errorMessage(ctx, err));
      ctx.redirect(paths.projectApp(orgId, projectId, app.id));
      return;
    }
    await flash(ctx, 'ok', c.t('app.deleted', { name: app.name }));
    ctx.redirect(paths.projectApps(orgId, projectId));
  });
}
