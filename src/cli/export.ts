import YAML from 'yaml';
import type { Knex } from 'knex';
import { Scope } from '../db/scope.js';
import { builtInDefault, policyKinds, type PolicyKind } from '../domain/policy/schemas.js';
import type { UserRow } from '../domain/user/repository.js';
import type { ApplicationRow, ProjectRow } from '../domain/project/repository.js';
import type { MembershipRow } from '../domain/membership/repository.js';
import { policyKey } from './plan.js';
import { formatDuration } from './spec.js';
import { readInstanceState, StateIndex, type IdpRow } from './state.js';

/**
 * Writes stored state back in the apply format. Secrets never leave the database: each one is
 * replaced by an environment reference (`passwordFromEnv: …`) that apply leaves alone while the
 * variable is unset. Fields at their creation defaults are left out to keep the file readable.
 */
export async function exportInstances(knex: Knex, instanceIds: string[]): Promise<string> {
  const instances = [];
  for (const id of instanceIds) instances.push(await exportInstance(new Scope(knex, id)));
  const header = '# Written by `tessera export`. Secrets are not exported: set the variables named *FromEnv to apply them.\n';
  const doc = new YAML.Document({ instances });
  // Lists of plain values (roles, domains, URIs) read best on one line: roles: [Accountant, Developer]
  YAML.visit(doc, {
    Seq: (_, node) => {
      if (node.items.every((i) => YAML.isScalar(i))) node.flow = true;
    },
  });
  return header + doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** `TESSERA_PASSWORD_ALPHA_ALICE` */
const envRef = (...parts: string[]) =>
  parts
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');

type Obj = Record<string, unknown>;

/** Drops the fields left unset, so the file states only what is there. */
function compact(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

function policyDiff(kind: PolicyKind, settings: Obj): Obj {
  const base = builtInDefault(kind) as Obj;
  return Object.fromEntries(Object.entries(settings).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k])));
}

async function exportInstance(scope: Scope): Promise<Obj> {
  const s = await readInstanceState(scope);
  const idx = new StateIndex(s);
  const i = s.instance;
  const orgName = (id: string | null) => (id ? (idx.orgById(id)?.name ?? id) : '');
  const userRef = (userId: string, contextOrgId?: string) => {
    const u = idx.userById(userId)!;
    return u.org_id === contextOrgId ? u.username : `${u.username}@${orgName(u.org_id)}`;
  };
  const members = (list: MembershipRow[], contextOrgId?: string) =>
    list.length ? list.map((m) => ({ user: userRef(m.user_id, contextOrgId), roles: m.roles })) : undefined;
  const idps = (list: IdpRow[], owner: string) =>
    list.length
      ? list.map((d) =>
          compact({
            name: d.name,
            issuer: d.issuer,
            clientId: d.client_id,
            clientSecretFromEnv: d.client_secret_enc ? envRef('TESSERA_IDP', owner, d.name, 'SECRET') : undefined,
            scopes: d.scopes,
            isLinkingAllowed: d.is_linking_allowed,
            isCreationAllowed: d.is_creation_allowed,
            isAutoCreation: d.is_auto_creation,
            isAutoUpdate: d.is_auto_update,
            autoLinking: d.auto_linking,
          }),
        )
      : undefined;

  const instancePolicies: Obj = {};
  for (const kind of policyKinds) {
    const row = idx.policy(kind, null);
    const diff = row ? policyDiff(kind, row.settings) : {};
    if (Object.keys(diff).length) instancePolicies[policyKey(kind)] = diff;
  }

  const orgs = s.orgs.map((o) => {
    const policies: Obj = {};
    for (const kind of policyKinds) {
      const row = idx.policy(kind, o.id);
      if (row) policies[policyKey(kind)] = policyDiff(kind, row.settings);
    }
    const domains = idx
      .orgDomains(o.id)
      .filter((d) => !d.is_generated)
      .map((d) =>
        d.is_verified && !d.is_primary
          ? d.domain
          : compact({ domain: d.domain, verified: d.is_verified ? undefined : false, primary: d.is_primary || undefined }),
      );
    const users = s.users.filter((u) => u.org_id === o.id).map((u) => exportUser(u, o.name, idx.metadata(u.id)));
    const projects = s.projects.filter((p) => p.org_id === o.id).map((p) => exportProject(p, idx, orgName, members));
    const userGrants = s.userGrants
      .filter((g) => g.org_id === o.id)
      .map((g) => {
        const p = idx.projectById(g.project_id)!;
        return compact({
          user: userRef(g.user_id, o.id),
          project: p.org_id === o.id ? p.name : `${orgName(p.org_id)}/${p.name}`,
          roles: g.role_keys,
          state: g.state === 'active' ? undefined : g.state,
          expiresAt: g.expires_at ? new Date(g.expires_at).toISOString() : undefined,
        });
      });
    return compact({
      name: o.name,
      state: o.state === 'active' ? undefined : o.state,
      domains: domains.length ? domains : undefined,
      policies: Object.keys(policies).length ? policies : undefined,
      idps: idps(idx.idps(o.id), o.name),
      members: members(idx.members('org', { orgId: o.id }), o.id),
      users: users.length ? users : undefined,
      projects: projects.length ? projects : undefined,
      userGrants: userGrants.length ? userGrants : undefined,
    });
  });

  return compact({
    name: i.name,
    domains: s.domains.map((d) => d.domain),
    defaultOrg: i.default_org_id ? orgName(i.default_org_id) : undefined,
    oidc: {
      accessTokenLifetime: formatDuration(i.access_token_lifetime_s),
      idTokenLifetime: formatDuration(i.id_token_lifetime_s),
      refreshTokenIdleLifetime: formatDuration(i.refresh_token_idle_s),
      refreshTokenAbsoluteLifetime: formatDuration(i.refresh_token_absolute_s),
    },
    smtp: i.smtp_host
      ? compact({
          host: i.smtp_host,
          port: i.smtp_port,
          tls: i.smtp_tls,
          user: i.smtp_user ?? undefined,
          passwordFromEnv: i.smtp_password_enc ? 'TESSERA_SMTP_PASSWORD' : undefined,
          fromAddress: i.smtp_from_address,
          fromName: i.smtp_from_name ?? undefined,
        })
      : undefined,
    policies: Object.keys(instancePolicies).length ? instancePolicies : undefined,
    idps: idps(idx.idps(null), 'instance'),
    members: members(idx.members('instance', {})),
    orgs,
  });
}

function exportUser(u: UserRow, orgName: string, metadata: Record<string, string>): Obj {
  const meta = Object.keys(metadata).length ? metadata : undefined;
  if (u.type === 'machine') {
    return compact({
      type: 'machine',
      username: u.username,
      name: u.name ?? u.username,
      description: u.description ?? undefined,
      accessTokenType: u.access_token_type === 'jwt' ? undefined : u.access_token_type,
      state: u.state === 'active' ? undefined : u.state,
      secretFromEnv: u.client_secret_hash ? envRef('TESSERA_SECRET', orgName, u.username) : undefined,
      metadata: meta,
    });
  }
  return compact({
    username: u.username,
    email: u.email,
    emailVerified: u.email_verified || undefined,
    phone: u.phone ?? undefined,
    givenName: u.given_name ?? undefined,
    familyName: u.family_name ?? undefined,
    displayName: u.display_name ?? undefined,
    preferredLanguage: u.preferred_language ?? undefined,
    state: u.state === 'active' ? undefined : u.state,
    passwordFromEnv: u.password_hash ? envRef('TESSERA_PASSWORD', orgName, u.username) : undefined,
    metadata: meta,
  });
}

function exportProject(
  p: ProjectRow,
  idx: StateIndex,
  orgName: (id: string) => string,
  members: (list: MembershipRow[], contextOrgId?: string) => Obj[] | undefined,
): Obj {
  const roles = idx
    .roles(p.id)
    .map((r) => compact({ key: r.key, displayName: r.display_name === r.key ? undefined : r.display_name, group: r.group ?? undefined }));
  const apps = idx.apps(p.id).map(exportApp);
  const grants = idx.s.grants
    .filter((g) => g.project_id === p.id)
    .map((g) =>
      compact({
        org: orgName(g.granted_org_id),
        roles: g.role_keys,
        state: g.state === 'active' ? undefined : g.state,
        members: members(idx.members('project_grant', { projectGrantId: g.id }), g.granted_org_id),
      }),
    );
  return compact({
    name: p.name,
    state: p.state === 'active' ? undefined : p.state,
    projectRoleAssertion: p.project_role_assertion || undefined,
    projectRoleCheck: p.project_role_check || undefined,
    hasProjectCheck: p.has_project_check || undefined,
    privateLabelingSetting: p.private_labeling_setting === 'unspecified' ? undefined : p.private_labeling_setting,
    roles: roles.length ? roles : undefined,
    apps: apps.length ? apps : undefined,
    grants: grants.length ? grants : undefined,
    members: members(idx.members('project', { projectId: p.id }), p.org_id),
  });
}

function exportApp(a: ApplicationRow): Obj {
  const api = a.app_type === 'api';
  const same = (x: string[], y: string[]) => JSON.stringify(x) === JSON.stringify(y);
  return compact({
    name: a.name,
    clientId: a.client_id,
    type: a.app_type,
    authMethod: a.auth_method,
    secretFromEnv: a.client_secret_hash ? envRef('TESSERA_CLIENT_SECRET', a.client_id) : undefined,
    redirectUris: a.redirect_uris.length ? a.redirect_uris : undefined,
    postLogoutRedirectUris: a.post_logout_redirect_uris.length ? a.post_logout_redirect_uris : undefined,
    grantTypes: same(a.grant_types, api ? [] : ['authorization_code']) ? undefined : a.grant_types,
    responseTypes: same(a.response_types, api ? [] : ['code']) ? undefined : a.response_types,
    accessTokenType: a.access_token_type === 'jwt' ? undefined : a.access_token_type,
    idTokenRoleAssertion: a.id_token_role_assertion || undefined,
    accessTokenRoleAssertion: a.access_token_role_assertion || undefined,
    idTokenUserinfoAssertion: a.id_token_userinfo_assertion || undefined,
    clockSkewS: a.clock_skew_s || undefined,
    devMode: a.dev_mode || undefined,
    skipConsent: a.skip_consent ? undefined : false,
    jwks: a.jwks ?? undefined,
  });
}
