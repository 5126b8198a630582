/**
 * ZITADEL-compatible claims, as a pure function of what the caller loaded: the user, the
 * user's grants on the projects in the audience, the requested scopes and the settings of
 * the client's project and application. No I/O here, so the whole table is unit-tested.
 */

export const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';
export const PROJECTS_ROLES_SCOPE = 'urn:zitadel:iam:org:projects:roles';
export const METADATA_SCOPE = 'urn:zitadel:iam:user:metadata';
export const RESOURCE_OWNER_SCOPE = 'urn:zitadel:iam:user:resourceowner';

const ROLE_SCOPE = /^urn:zitadel:iam:org:project:role:(.+)$/;
const ROLES_ORG_SCOPE = /^urn:zitadel:iam:org:roles:id:(.+)$/;
const AUD_SCOPE = /^urn:zitadel:iam:org:project:id:(.+):aud$/;
const ORG_ID_SCOPE = /^urn:zitadel:iam:org:id:(.+)$/;
const ORG_DOMAIN_SCOPE = /^urn:zitadel:iam:org:domain:primary:(.+)$/;

export const isReservedScope = (scope: string) => scope.startsWith('urn:zitadel:iam:');

export interface ClaimsUser {
  id: string;
  username: string;
  type: 'human' | 'machine';
  email?: string | null;
  emailVerified?: boolean;
  phone?: string | null;
  phoneVerified?: boolean;
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  nickName?: string | null;
  preferredLanguage?: string | null;
  updatedAt?: Date;
}

export interface ClaimsOrg {
  id: string;
  name: string;
  primaryDomain: string;
}

export interface ClaimsGrant {
  projectId: string;
  orgId: string;
  orgPrimaryDomain: string;
  roleKeys: string[];
}

export interface ClaimsInput {
  /** 'id_token', 'userinfo' or 'access_token' (JWT access tokens and introspection) */
  use: 'id_token' | 'userinfo' | 'access_token';
  scopes: string[];
  user: ClaimsUser;
  org: ClaimsOrg;
  /** The project of the client (application) the token is for. */
  project?: { id: string; projectRoleAssertion: boolean };
  app?: { idTokenRoleAssertion: boolean; idTokenUserinfoAssertion: boolean; accessTokenRoleAssertion: boolean };
  /** Active grants of the user on the projects in the audience. */
  grants: ClaimsGrant[];
  metadata?: Record<string, string>;
  /** True when an access token accompanies the ID token (code flow): ZITADEL then keeps the ID token small. */
  withAccessToken?: boolean;
}

export type RoleClaim = Record<string, Record<string, string>>;

/**
 * The `acr` of a sign-in (OpenID Connect Core 2: an absolute URI both sides agree on): one factor,
 * or several (amr has `mfa`). Listed in discovery as acr_values_supported.
 */
export const ACR = { singleFactor: 'urn:tessera:acr:1fa', multiFactor: 'urn:tessera:acr:mfa' } as const;
export const acrOfAmr = (amr: string[]): string => (amr.includes('mfa') ? ACR.multiFactor : ACR.singleFactor);

/** `urn:zitadel:iam:org:project:id:{id}:aud`: the scope that adds a project to the audience. */
export const isAudienceScope = (scope: string): boolean => AUD_SCOPE.test(scope);

/** The audience's project ids: the client's project plus any requested by `…:project:id:{id}:aud`. */
export function audienceProjects(scopes: string[], clientProjectId?: string): string[] {
  const ids = new Set<string>(clientProjectId ? [clientProjectId] : []);
  for (const s of scopes) {
    const m = AUD_SCOPE.exec(s);
    if (m) ids.add(m[1]);
  }
  return [...ids];
}

/** The org a login is restricted to by `urn:zitadel:iam:org:id:{id}` or `…:domain:primary:{domain}`. */
export function requestedOrg(scopes: string[]): { id?: string; domain?: string } | undefined {
  for (const s of scopes) {
    const id = ORG_ID_SCOPE.exec(s);
    if (id) return { id: id[1] };
    const domain = ORG_DOMAIN_SCOPE.exec(s);
    if (domain) return { domain: domain[1] };
  }
  return undefined;
}

/** `{ roleKey: { orgId: orgPrimaryDomain } }`, one entry per giving org, filtered by requested roles and orgs. */
export function roleClaim(grants: ClaimsGrant[], projectId: string, scopes: string[]): RoleClaim {
  const requestedRoles = scopes.map((s) => ROLE_SCOPE.exec(s)?.[1]).filter((k): k is string => Boolean(k));
  const requestedOrgs = scopes.map((s) => ROLES_ORG_SCOPE.exec(s)?.[1]).filter((k): k is string => Boolean(k));
  const claim: RoleClaim = {};
  for (const g of grants) {
    if (g.projectId !== projectId) continue;
    if (requestedOrgs.length && !requestedOrgs.includes(g.orgId)) continue;
    for (const key of g.roleKeys) {
      if (requestedRoles.length && !requestedRoles.includes(key)) continue;
      (claim[key] ??= {})[g.orgId] = g.orgPrimaryDomain;
    }
  }
  return claim;
}

/** Does the request ask for roles (a role scope, the projects scope, or the project's role assertion)? */
export function rolesRequested(scopes: string[], projectRoleAssertion: boolean): boolean {
  return projectRoleAssertion || scopes.includes(PROJECTS_ROLES_SCOPE) || scopes.some((s) => ROLE_SCOPE.test(s));
}

export function base64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/**
 * What a token of this use carries: the profile claims (profile, email, phone, metadata, the org)
 * and the roles. ZITADEL keeps the ID token small when an access token can fetch the rest from
 * userinfo, unless the app asserts them in the ID token; an access token carries roles only for an
 * app with accessTokenRoleAssertion. Also what accountClaims reads, so nothing is read in vain.
 */
export function carriedClaims(use: ClaimsInput['use'], app: ClaimsInput['app'], withAccessToken = false): { profile: boolean; roles: boolean } {
  return {
    profile: use !== 'id_token' || !withAccessToken || Boolean(app?.idTokenUserinfoAssertion),
    roles:
      use === 'userinfo' ||
      (use === 'id_token' && (!withAccessToken || Boolean(app?.idTokenRoleAssertion))) ||
      (use === 'access_token' && Boolean(app?.accessTokenRoleAssertion)),
  };
}

export function buildClaims(input: ClaimsInput): Record<string, unknown> {
  const { scopes, user, org, use } = input;
  const has = (s: string) => scopes.includes(s);
  const claims: Record<string, unknown> = { sub: user.id };

  const carried = carriedClaims(use, input.app, input.withAccessToken);

  if (carried.profile) {
    if (has('profile')) {
      const name =
        user.type === 'machine'
          ? (user.displayName ?? user.username)
          : (user.displayName ?? ([user.givenName, user.familyName].filter(Boolean).join(' ') || undefined));
      Object.assign(
        claims,
        dropEmpty({
          name,
          given_name: user.givenName,
          family_name: user.familyName,
          nickname: user.nickName,
          locale: user.preferredLanguage,
          preferred_username: `${user.username}@${org.primaryDomain}`,
          updated_at: user.updatedAt ? Math.floor(user.updatedAt.getTime() / 1000) : undefined,
        }),
      );
    }
    if (has('email') && user.email) Object.assign(claims, { email: user.email, email_verified: Boolean(user.emailVerified) });
    if (has('phone') && user.phone) Object.assign(claims, { phone_number: user.phone, phone_number_verified: Boolean(user.phoneVerified) });
    if (has(METADATA_SCOPE) && input.metadata && Object.keys(input.metadata).length) {
      claims[METADATA_SCOPE] = Object.fromEntries(Object.entries(input.metadata).map(([k, v]) => [k, base64url(v)]));
    }
    if (has(RESOURCE_OWNER_SCOPE)) {
      claims[`${RESOURCE_OWNER_SCOPE}:id`] = org.id;
      claims[`${RESOURCE_OWNER_SCOPE}:name`] = org.name;
      claims[`${RESOURCE_OWNER_SCOPE}:primary_domain`] = org.primaryDomain;
    }
    const orgScope = requestedOrg(scopes);
    if (orgScope) {
      claims['urn:zitadel:iam:org:id'] = org.id;
      claims['urn:zitadel:iam:org:name'] = org.name;
      claims['urn:zitadel:iam:org:domain:primary'] = org.primaryDomain;
    }
  }

  if (input.project && carried.roles && rolesRequested(scopes, input.project.projectRoleAssertion)) {
    const roles = roleClaim(input.grants, input.project.id, scopes);
    if (Object.keys(roles).length) claims[ROLES_CLAIM] = roles;
    if (has(PROJECTS_ROLES_SCOPE)) {
      for (const projectId of audienceProjects(scopes, input.project.id)) {
        const perProject = roleClaim(input.grants, projectId, scopes);
        if (Object.keys(perProject).length) claims[`urn:zitadel:iam:org:project:${projectId}:roles`] = perProject;
      }
    }
  }
  return claims;
}

/**
 * Claims of a client_credentials token for a machine user: the roles on every project in
 * the requested audience, merged (a machine has no client project of its own).
 */
export function machineTokenClaims(grants: ClaimsGrant[], scopes: string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  const merged: RoleClaim = {};
  for (const projectId of audienceProjects(scopes)) {
    for (const [key, orgs] of Object.entries(roleClaim(grants, projectId, scopes))) Object.assign((merged[key] ??= {}), orgs);
  }
  if (Object.keys(merged).length) claims[ROLES_CLAIM] = merged;
  return claims;
}

function dropEmpty(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}
