import type { Permission } from '../../authz/index.js';
import { authorize } from '../authorization.js';
import { isUniqueViolation } from '../../db/scope.js';
import type { PasswordHasher } from '../../shared/crypto.js';
import { alreadyExists, DomainError, invalidInput, notFound } from '../../shared/errors.js';
import { newId, newSecret } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { orgSlug } from '../org/repository.js';
import {
  deleteApplicationRow,
  getApplication,
  insertApplication,
  updateApplicationRow,
  type ApplicationRow,
  type AppType,
  type AuthMethod,
} from './repository.js';
import { projectResource, requireProject } from './service.js';

export { findApplicationByClientId, getApplication, listApplications, type ApplicationRow, type AppType, type AuthMethod } from './repository.js';

export interface ApplicationSettings {
  name?: string;
  authMethod?: AuthMethod;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  grantTypes?: string[];
  responseTypes?: string[];
  accessTokenType?: 'jwt' | 'opaque';
  idTokenRoleAssertion?: boolean;
  accessTokenRoleAssertion?: boolean;
  idTokenUserinfoAssertion?: boolean;
  clockSkewS?: number;
  devMode?: boolean;
  skipConsent?: boolean;
  jwks?: { keys: Record<string, unknown>[] } | null;
}

export interface NewApplication extends ApplicationSettings {
  name: string;
  appType: AppType;
  authMethod: AuthMethod;
  /** A fixed client id (configuration as code); generated when absent. */
  clientId?: string;
  /** A fixed secret for secret auth methods (configuration as code); generated when absent. */
  clientSecret?: string;
  id?: string;
}

const appTypes: AppType[] = ['web', 'user_agent', 'native', 'api'];
const secretMethods: AuthMethod[] = ['client_secret_basic', 'client_secret_post'];
// Browser and native apps cannot keep a secret: PKCE only. API apps only introspect.
const methodsByType: Record<AppType, AuthMethod[]> = {
  web: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'],
  user_agent: ['none'],
  native: ['none'],
  api: ['client_secret_basic', 'private_key_jwt'],
};
// Implicit and password grants are refused by design.
const allowedGrantTypes = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];
const clientIdPattern = /^[A-Za-z0-9._~@:-]{1,255}$/;
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
const forbiddenSchemes = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:']);

export const usesSecret = (m: AuthMethod) => secretMethods.includes(m);

function invalidApp(reason: string, message: string, details?: Record<string, unknown>) {
  return new DomainError('invalid_input', message, reason, details);
}

/** Absolute URLs without fragment; plain http only on loopback, in dev mode or for native apps; custom schemes only for native or dev mode. */
export function checkRedirectUris(uris: string[], appType: AppType, devMode: boolean, field = 'redirectUris'): void {
  for (const uri of uris) {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      throw invalidApp('application.redirect_uri_invalid', `${field}: ${uri} is not an absolute URL`, { uri });
    }
    if (u.hash || uri.includes('#')) throw invalidApp('application.redirect_uri_invalid', `${field}: ${uri} must not have a fragment`, { uri });
    if (forbiddenSchemes.has(u.protocol)) throw invalidApp('application.redirect_uri_invalid', `${field}: scheme ${u.protocol} is not allowed`, { uri });
    if (u.protocol === 'https:') continue;
    if (u.protocol === 'http:') {
      if (loopbackHosts.has(u.hostname) || devMode || appType === 'native') continue;
      throw invalidApp('application.redirect_uri_insecure', `${field}: ${uri} uses http; use https, a loopback host, dev mode or a native app`, { uri });
    }
    if (appType !== 'native' && !devMode) {
      throw invalidApp('application.redirect_uri_invalid', `${field}: custom scheme ${u.protocol} is only for native apps`, { uri });
    }
  }
}

function checkJwks(jwks: ApplicationSettings['jwks']): void {
  if (jwks == null) return;
  if (typeof jwks !== 'object' || !Array.isArray(jwks.keys) || jwks.keys.some((k) => !k || typeof k !== 'object' || typeof k.kty !== 'string')) {
    throw invalidInput('jwks must be a JSON Web Key Set: { "keys": [ { "kty": ... } ] }');
  }
  if (jwks.keys.some((k) => 'd' in k)) throw invalidInput('jwks must hold public keys only');
}

/** Validates the app as it will be stored, so create and update apply the same rules. */
function checkApplication(a: ApplicationRow): void {
  if (!a.name.trim() || a.name.length > 200) throw invalidInput('an application name must be 1 to 200 characters');
  if (!appTypes.includes(a.app_type)) throw invalidInput(`appType must be one of ${appTypes.join(', ')}`);
  if (!methodsByType[a.app_type]?.includes(a.auth_method)) {
    throw invalidApp('application.auth_method_not_allowed', `${a.app_type} applications authenticate with ${methodsByType[a.app_type].join(' or ')}`, {
      appType: a.app_type,
      authMethod: a.auth_method,
    });
  }
  if (!['jwt', 'opaque'].includes(a.access_token_type)) throw invalidInput('accessTokenType must be jwt or opaque');
  if (!Number.isInteger(a.clock_skew_s) || a.clock_skew_s < 0 || a.clock_skew_s > 5) throw invalidInput('clockSkewS must be 0 to 5 seconds');
  const bad = a.grant_types.filter((g) => !allowedGrantTypes.includes(g));
  if (bad.length) throw invalidApp('application.grant_type_not_allowed', `grant types not allowed: ${bad.join(', ')}`, { grantTypes: bad });
  if (a.response_types.some((r) => r !== 'code')) throw invalidApp('application.response_type_not_allowed', 'only the code response type is allowed');
  const code = a.grant_types.includes('authorization_code');
  if (a.app_type === 'api' && a.grant_types.length) throw invalidInput('API applications have no grant types: they only introspect');
  if (code !== a.response_types.includes('code')) throw invalidInput('the code response type goes with the authorization_code grant type');
  if (a.grant_types.includes('refresh_token') && a.grant_types.length === 1) throw invalidInput('refresh_token needs another grant type');
  if (code && a.redirect_uris.length === 0)
    throw invalidApp('application.redirect_uri_missing', 'the authorization_code grant needs at least one redirect URI');
  checkRedirectUris(a.redirect_uris, a.app_type, a.dev_mode);
  checkRedirectUris(a.post_logout_redirect_uris, a.app_type, a.dev_mode, 'postLogoutRedirectUris');
  checkJwks(a.jwks);
}

function settingsToRow(s: ApplicationSettings): Partial<ApplicationRow> {
  const map: [keyof ApplicationSettings, keyof ApplicationRow][] = [
    ['name', 'name'],
    ['authMethod', 'auth_method'],
    ['redirectUris', 'redirect_uris'],
    ['postLogoutRedirectUris', 'post_logout_redirect_uris'],
    ['grantTypes', 'grant_types'],
    ['responseTypes', 'response_types'],
    ['accessTokenType', 'access_token_type'],
    ['idTokenRoleAssertion', 'id_token_role_assertion'],
    ['accessTokenRoleAssertion', 'access_token_role_assertion'],
    ['idTokenUserinfoAssertion', 'id_token_userinfo_assertion'],
    ['clockSkewS', 'clock_skew_s'],
    ['devMode', 'dev_mode'],
    ['skipConsent', 'skip_consent'],
    ['jwks', 'jwks'],
  ];
  const row: Record<string, unknown> = {};
  for (const [from, to] of map) if (s[from] !== undefined) row[to] = Array.isArray(s[from]) ? [...new Set(s[from] as string[])] : s[from];
  return row as Partial<ApplicationRow>;
}

function checkSecret(secret: string): void {
  if (secret.length < 16 || secret.length > 512) throw invalidInput('a client secret must be 16 to 512 characters');
}

export async function createApplication(
  ctx: ServiceContext,
  projectId: string,
  input: NewApplication,
): Promise<{ id: string; clientId: string; clientSecret?: string }> {
  const id = input.id ?? newId();
  if (input.clientId !== undefined && !clientIdPattern.test(input.clientId)) {
    throw invalidInput('a client id is 1 to 255 of A-Z a-z 0-9 . _ ~ @ : -');
  }
  const api = input.appType === 'api';
  const draft: ApplicationRow = {
    id,
    project_id: projectId,
    name: input.name,
    state: 'active',
    client_id: input.clientId ?? '',
    client_secret_hash: null,
    app_type: input.appType,
    auth_method: input.authMethod,
    redirect_uris: [],
    post_logout_redirect_uris: [],
    grant_types: api ? [] : ['authorization_code'],
    response_types: api ? [] : ['code'],
    access_token_type: 'jwt',
    id_token_role_assertion: false,
    access_token_role_assertion: false,
    id_token_userinfo_assertion: false,
    clock_skew_s: 0,
    dev_mode: false,
    skip_consent: true,
    jwks: null,
    version: 1,
    created_at: new Date(),
    updated_at: new Date(),
    ...settingsToRow(input),
  };
  checkApplication(draft);
  let clientSecret: string | undefined;
  if (usesSecret(draft.auth_method)) {
    clientSecret = input.clientSecret ?? newSecret(32);
    checkSecret(clientSecret);
  } else if (input.clientSecret !== undefined) {
    throw invalidInput(`auth method ${draft.auth_method} takes no client secret`);
  }

  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'share');
    await authorize({ ...ctx, scope }, 'project.app.write', projectResource(p));
    draft.client_id = input.clientId ?? `${id}@${orgSlug(p.name)}`;
    // Hashing is slow; it runs after the permission check so refused callers cannot make us burn CPU.
    if (clientSecret) draft.client_secret_hash = await ctx.deps.hasher.hash(clientSecret);
    const { version: _v, created_at: _c, updated_at: _u, ...row } = draft;
    try {
      await insertApplication(scope, row);
    } catch (err) {
      if (isUniqueViolation(err, 'applications_instance_id_client_id_unique')) {
        throw alreadyExists('application.client_id_taken', `client id ${draft.client_id} is taken`);
      }
      if (isUniqueViolation(err)) throw alreadyExists('application.exists', `application ${id} already exists`);
      throw err;
    }
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'application',
      resourceId: id,
      type: 'project.application.added',
      payload: {
        projectId,
        name: draft.name,
        clientId: draft.client_id,
        appType: draft.app_type,
        authMethod: draft.auth_method,
        redirectUris: draft.redirect_uris,
      },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return { id, clientId: draft.client_id, ...(clientSecret ? { clientSecret } : {}) };
}

async function requireApplication(ctx: ServiceContext, appId: string, permission: Permission) {
  const app = await getApplication(ctx.scope, appId);
  if (!app) throw notFound('application', appId);
  const p = await requireProject(ctx.scope, app.project_id, 'share');
  await authorize(ctx, permission, projectResource(p));
  return { app, project: p };
}

/**
 * Changes an app's settings (not its type or client id). Moving to a secret auth method
 * generates a secret, returned once; moving away from one drops the stored hash.
 */
export async function updateApplication(ctx: ServiceContext, appId: string, patch: ApplicationSettings): Promise<{ clientSecret?: string }> {
  const changes = settingsToRow(patch);
  let clientSecret: string | undefined;
  await ctx.scope.transaction(async (scope) => {
    const tctx = { ...ctx, scope };
    const { app, project } = await requireApplication(tctx, appId, 'project.app.write');
    const next = { ...app, ...changes };
    checkApplication(next);
    if (usesSecret(next.auth_method) && !app.client_secret_hash) {
      clientSecret = newSecret(32);
      changes.client_secret_hash = await ctx.deps.hasher.hash(clientSecret);
    } else if (!usesSecret(next.auth_method) && app.client_secret_hash) {
      changes.client_secret_hash = null;
    }
    await updateApplicationRow(scope, appId, changes);
    const { client_secret_hash: _h, ...shown } = changes;
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'application',
      resourceId: appId,
      type: 'project.application.changed',
      payload: { projectId: project.id, ...shown, ...(clientSecret ? { secretGenerated: true } : {}) },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return clientSecret ? { clientSecret } : {};
}

/** A new secret replaces the old one at once; the plain value is returned only here. */
export async function regenerateClientSecret(ctx: ServiceContext, appId: string, chosen?: string): Promise<{ clientSecret: string }> {
  // A chosen secret is for configuration as code (`tessera apply`, taken from the environment).
  if (chosen !== undefined) checkSecret(chosen);
  const clientSecret = chosen ?? newSecret(32);
  await ctx.scope.transaction(async (scope) => {
    const { app, project } = await requireApplication({ ...ctx, scope }, appId, 'project.app.write');
    if (!usesSecret(app.auth_method)) {
      throw new DomainError('precondition_failed', `auth method ${app.auth_method} uses no client secret`, 'application.no_secret');
    }
    await updateApplicationRow(scope, appId, { client_secret_hash: await ctx.deps.hasher.hash(clientSecret) });
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'application',
      resourceId: appId,
      type: 'project.application.secret.changed',
      payload: { projectId: project.id },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return { clientSecret };
}

async function setAppState(ctx: ServiceContext, appId: string, to: 'active' | 'inactive'): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const { app, project } = await requireApplication({ ...ctx, scope }, appId, 'project.app.write');
    if (app.state === to) {
      throw new DomainError(
        'precondition_failed',
        `application ${appId} is already ${to}`,
        to === 'active' ? 'application.already_active' : 'application.not_active',
      );
    }
    await updateApplicationRow(scope, appId, { state: to });
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'application',
      resourceId: appId,
      type: to === 'active' ? 'project.application.reactivated' : 'project.application.deactivated',
      payload: { projectId: project.id },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

export const deactivateApplication = (ctx: ServiceContext, appId: string) => setAppState(ctx, appId, 'inactive');
export const reactivateApplication = (ctx: ServiceContext, appId: string) => setAppState(ctx, appId, 'active');

export async function deleteApplication(ctx: ServiceContext, appId: string): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const { app, project } = await requireApplication({ ...ctx, scope }, appId, 'project.app.delete');
    await deleteApplicationRow(scope, appId);
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'application',
      resourceId: appId,
      type: 'project.application.removed',
      payload: { projectId: project.id, clientId: app.client_id },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** Checks a presented client secret against the stored argon2id hash (constant-time inside argon2). */
export async function verifyClientSecret(hasher: PasswordHasher, app: Pick<ApplicationRow, 'client_secret_hash'>, secret: string): Promise<boolean> {
  return hasher.verify(app.client_secret_hash, secret);
}
