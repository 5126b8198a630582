import type { UserRow } from '../domain/user/repository.js';
import * as ops from './ops.js';
import { diffFields, label, policyKeys, policyKind, show, type PlanContext } from './plan.js';
import type { IdpSpec, OrgSpec, SpecPath, UserSpec } from './spec.js';

/** The instance's own settings: domains, token lifetimes, SMTP, default policies, IdPs. */
export async function planInstanceSettings(p: PlanContext): Promise<void> {
  const { spec, idx } = p;
  const row = idx.s.instance;
  if (spec.name && spec.name !== row.name) {
    p.add('~', `instance name ${show(row.name)} → ${show(spec.name)}`, ['name'], (ctx) => ops.renameInstance(ctx, spec.name!));
  }
  const defaultOrg = idx.orgById(row.default_org_id ?? '')?.name;
  if (spec.defaultOrg && defaultOrg && spec.defaultOrg !== defaultOrg) {
    p.warnings.push(`defaultOrg ${spec.defaultOrg} is only used when an instance is created; this one keeps ${defaultOrg}`);
  }
  const stored = new Set(idx.s.domains.map((d) => d.domain));
  spec.domains.forEach((d, i) => {
    const domain = d.toLowerCase();
    if (!stored.has(domain)) p.add('+', `instance domain ${domain}`, ['domains', i], (ctx) => ops.addInstanceDomain(ctx, domain));
  });
  const primary = p.primaryDomain;
  const storedPrimary = idx.s.domains.find((d) => d.is_primary)?.domain;
  if (storedPrimary !== primary) {
    p.add('~', `instance primary domain ${storedPrimary ?? 'none'} → ${primary}`, ['domains', 0], (ctx) => ops.setPrimaryInstanceDomain(ctx, primary));
  }

  if (spec.oidc) {
    const { notes, patch } = diffFields<ops.OidcSettings>([
      ['accessTokenLifetimeS', row.access_token_lifetime_s, spec.oidc.accessTokenLifetime],
      ['idTokenLifetimeS', row.id_token_lifetime_s, spec.oidc.idTokenLifetime],
      ['refreshTokenIdleS', row.refresh_token_idle_s, spec.oidc.refreshTokenIdleLifetime],
      ['refreshTokenAbsoluteS', row.refresh_token_absolute_s, spec.oidc.refreshTokenAbsoluteLifetime],
    ]);
    if (notes.length) p.add('~', `instance oidc: ${notes.join(', ')}`, ['oidc'], (ctx) => ops.updateOidcSettings(ctx, patch));
  }

  if (spec.smtp) {
    const s = spec.smtp;
    const password = p.secret(s.passwordFromEnv, 'the SMTP password');
    const { notes } = diffFields([
      ['host', row.smtp_host, s.host],
      ['port', row.smtp_port, s.port],
      ['tls', row.smtp_tls, s.tls ?? false],
      ['user', row.smtp_user, s.user ?? null],
      ['fromAddress', row.smtp_from_address, s.fromAddress],
      ['fromName', row.smtp_from_name, s.fromName ?? null],
    ]);
    if (password !== undefined && p.openSecret(row.smtp_password_enc) !== password) notes.push(`password (from $${s.passwordFromEnv})`);
    if (notes.length) {
      p.add(row.smtp_host ? '~' : '+', `instance smtp: ${notes.join(', ')}`, ['smtp'], (ctx) =>
        ops.setSmtpSettings(ctx, {
          host: s.host,
          port: s.port,
          tls: s.tls ?? false,
          user: s.user,
          password,
          fromAddress: s.fromAddress,
          fromName: s.fromName ?? '',
        }),
      );
    }
  }

  for (const key of policyKeys) {
    const given = spec.policies?.[key];
    if (given === undefined) continue;
    const kind = policyKind(key);
    const desired = p.parsePolicy(key, given, ['policies', key]);
    const { notes } = diffFields<Record<string, unknown>>(Object.keys(desired).map((f) => [f, p.storedPolicy(kind, null)?.[f], desired[f]]));
    if (notes.length) p.add('~', `instance policy ${key}: ${notes.join(', ')}`, ['policies', key], (ctx) => ops.setInstancePolicy(ctx, kind, desired));
  }

  planIdps(p, null, spec.idps ?? [], ['idps'], 'instance');
}

/** IdPs at instance level (orgId null) or of one org, matched by name. */
export function planIdps(p: PlanContext, orgId: string | null, idps: IdpSpec[], path: SpecPath, owner: string): void {
  const stored = orgId && !p.idx.orgById(orgId) ? [] : p.idx.idps(orgId);
  idps.forEach((spec, i) => {
    const at = [...path, i];
    const cur = stored.find((d) => d.name === spec.name);
    const secret = p.secret(spec.clientSecretFromEnv, `the client secret of IdP ${spec.name}`);
    const what = `idp ${label(spec.name)} of ${owner}`;
    if (spec.absent) {
      if (cur) p.add('-', what, at, (ctx) => ops.deleteIdp(ctx, cur.id));
      return;
    }
    const fields = {
      issuer: spec.issuer,
      clientId: spec.clientId,
      scopes: spec.scopes,
      isLinkingAllowed: spec.isLinkingAllowed,
      isCreationAllowed: spec.isCreationAllowed,
      isAutoCreation: spec.isAutoCreation,
      isAutoUpdate: spec.isAutoUpdate,
      autoLinking: spec.autoLinking,
    };
    if (!cur) {
      if (secret === undefined) p.fail([...at, 'clientSecretFromEnv'], `a new IdP needs its client secret: set clientSecretFromEnv and that variable`);
      p.add('+', what, at, (ctx) => ops.createIdp(ctx, { id: p.newId(), orgId, name: spec.name, ...fields, clientSecret: secret }));
      return;
    }
    const { notes, patch } = diffFields<ops.IdpPatch>([
      ['issuer', cur.issuer, fields.issuer],
      ['clientId', cur.client_id, fields.clientId],
      ['scopes', cur.scopes, fields.scopes],
      ['isLinkingAllowed', cur.is_linking_allowed, fields.isLinkingAllowed],
      ['isCreationAllowed', cur.is_creation_allowed, fields.isCreationAllowed],
      ['isAutoCreation', cur.is_auto_creation, fields.isAutoCreation],
      ['isAutoUpdate', cur.is_auto_update, fields.isAutoUpdate],
      ['autoLinking', cur.auto_linking, fields.autoLinking],
    ]);
    if (secret !== undefined && p.openSecret(cur.client_secret_enc) !== secret) {
      notes.push(`clientSecret (from $${spec.clientSecretFromEnv})`);
      patch.clientSecret = secret;
    }
    if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateIdp(ctx, cur.id, patch));
  });
}

/** Orgs by name: creation, state, domains, policy overrides, IdPs. Returns each org's id. */
export function planOrgs(p: PlanContext): void {
  (p.spec.orgs ?? []).forEach((spec, i) => {
    const at: SpecPath = ['orgs', i];
    const cur = p.idx.org(spec.name);
    if (spec.absent) {
      if (cur) {
        if (cur.id === p.idx.s.instance.default_org_id) p.fail(at, `org ${spec.name} is the instance's default org and cannot be removed`);
        p.add('-', `org ${label(spec.name)}`, at, (ctx) => ops.deleteOrg(ctx, cur.id));
      }
      return;
    }
    let orgId: string;
    if (cur) {
      orgId = cur.id;
      if (spec.state && spec.state !== cur.state) {
        p.add('~', `org ${label(spec.name)}: state ${cur.state} → ${spec.state}`, [...at, 'state'], (ctx) => ops.setOrgState(ctx, orgId, spec.state!), {
          last: spec.state === 'inactive',
        });
      }
    } else {
      orgId = p.newId();
      p.orgIds.set(spec.name, orgId);
      p.domainOrg.set(p.generatedDomain(spec.name), orgId);
      p.add('+', `org ${label(spec.name)}`, at, (ctx) => ops.createOrg(ctx, { id: orgId, name: spec.name }));
      if (spec.state === 'inactive') {
        p.add('~', `org ${label(spec.name)}: state active → inactive`, [...at, 'state'], (ctx) => ops.setOrgState(ctx, orgId, 'inactive'), { last: true });
      }
    }
    planOrgDomains(p, spec, orgId, at);
    planOrgPolicies(p, spec, orgId, at);
    planIdps(p, orgId, spec.idps ?? [], [...at, 'idps'], `org ${label(spec.name)}`);
  });
}

function planOrgDomains(p: PlanContext, spec: OrgSpec, orgId: string, at: SpecPath): void {
  // A new org comes with its generated domain, verified and primary.
  const stored = p.idx.orgById(orgId)
    ? p.idx.orgDomains(orgId)
    : [{ org_id: orgId, domain: p.generatedDomain(spec.name), is_verified: true, is_primary: true, is_generated: true, validation_code: null }];
  (spec.domains ?? []).forEach((d, j) => {
    const domain = d.domain.toLowerCase();
    const where = [...at, 'domains', j];
    const cur = stored.find((s) => s.domain === domain);
    const verified = d.verified ?? true; // the operator applying the file is trusted to own its domains
    const what = `org ${label(spec.name)} domain ${domain}`;
    if (!cur) {
      p.add('+', `${what}${verified ? '' : ' (unverified)'}`, where, (ctx) => ops.addOrgDomain(ctx, orgId, domain, verified));
    } else if (verified && !cur.is_verified) {
      p.add('~', `${what}: verified false → true`, where, (ctx) => ops.verifyOrgDomain(ctx, orgId, domain));
    }
    if (verified) p.domainOrg.set(domain, orgId);
    if (d.primary && !cur?.is_primary) {
      p.add('~', `org ${label(spec.name)} primary domain → ${domain}`, where, (ctx) => ops.setPrimaryOrgDomain(ctx, orgId, domain));
    }
  });
}

function planOrgPolicies(p: PlanContext, spec: OrgSpec, orgId: string, at: SpecPath): void {
  for (const key of policyKeys) {
    const given = spec.policies?.[key];
    if (given === undefined) continue;
    const kind = policyKind(key);
    const where = [...at, 'policies', key];
    const stored = p.storedPolicy(kind, orgId);
    if (given === 'default') {
      if (stored)
        p.add('-', `org ${label(spec.name)} policy ${key} override (back to the instance default)`, where, (ctx) => ops.resetOrgPolicy(ctx, orgId, kind));
      continue;
    }
    const desired = p.parsePolicy(key, given, where);
    if (!stored) {
      p.add('+', `org ${label(spec.name)} policy ${key} override`, where, (ctx) => ops.setOrgPolicy(ctx, orgId, kind, desired));
      continue;
    }
    const { notes } = diffFields<Record<string, unknown>>(Object.keys(desired).map((f) => [f, stored[f], desired[f]]));
    if (notes.length) p.add('~', `org ${label(spec.name)} policy ${key}: ${notes.join(', ')}`, where, (ctx) => ops.setOrgPolicy(ctx, orgId, kind, desired));
  }
}

/** Users of every org in the file, matched by username within their org. */
export async function planUsers(p: PlanContext): Promise<void> {
  for (const [i, org] of (p.spec.orgs ?? []).entries()) {
    if (org.absent) continue;
    const orgId = p.orgIds.get(org.name)!;
    for (const [j, spec] of (org.users ?? []).entries()) await planUser(p, org.name, orgId, spec, ['orgs', i, 'users', j]);
  }
}

async function planUser(p: PlanContext, orgName: string, orgId: string, spec: UserSpec, at: SpecPath): Promise<void> {
  const cur = p.idx.user(orgId, spec.username);
  const what = `user ${label(`${spec.username}@${orgName}`)}`;
  if (spec.absent) {
    if (cur) p.add('-', what, at, (ctx) => ops.deleteUser(ctx, cur.id));
    return;
  }
  if (cur && cur.type !== (spec.type ?? 'human')) p.fail([...at, 'type'], `${spec.username} is a ${cur.type} user; its type cannot change`);
  const userId = cur?.id ?? p.newId();
  p.userIds.set(`${orgId}/${spec.username.toLowerCase()}`, userId);

  if (spec.type === 'machine') {
    const secret = p.secret(spec.secretFromEnv, `the secret of ${spec.username}`);
    if (!cur) {
      p.add('+', what + (spec.secretFromEnv && secret ? ` with secret from $${spec.secretFromEnv}` : ''), at, async (ctx) => {
        await ops.createMachineUser(ctx, {
          id: userId,
          orgId,
          username: spec.username,
          name: spec.name,
          description: spec.description,
          accessTokenType: spec.accessTokenType,
        });
        if (secret) await ops.setMachineSecret(ctx, userId, secret);
      });
    } else {
      const { notes, patch } = diffFields<ops.UserPatch>([
        ['name', cur.name, spec.name],
        ['description', cur.description, spec.description],
        ['accessTokenType', cur.access_token_type, spec.accessTokenType],
      ]);
      if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateUserProfile(ctx, userId, patch));
      if (secret && !(await p.secretMatches(cur.client_secret_hash, secret))) {
        p.add('~', `${what}: secret (from $${spec.secretFromEnv})`, [...at, 'secretFromEnv'], (ctx) => ops.setMachineSecret(ctx, userId, secret));
      }
    }
  } else {
    const password = p.secret(spec.passwordFromEnv, `the password of ${spec.username}`);
    const profile: [keyof ops.UserPatch & string, unknown, unknown][] = [
      ['email', cur?.email, spec.email],
      ['emailVerified', cur?.email_verified, spec.emailVerified],
      ['phone', cur?.phone, spec.phone],
      ['givenName', cur?.given_name, spec.givenName],
      ['familyName', cur?.family_name, spec.familyName],
      ['displayName', cur?.display_name, spec.displayName],
      ['preferredLanguage', cur?.preferred_language, spec.preferredLanguage],
    ];
    if (!cur) {
      p.add('+', what + (password ? ` with password from $${spec.passwordFromEnv}` : ''), at, (ctx) =>
        ops.createHumanUser(ctx, {
          id: userId,
          orgId,
          username: spec.username,
          email: spec.email,
          emailVerified: spec.emailVerified,
          phone: spec.phone,
          givenName: spec.givenName,
          familyName: spec.familyName,
          displayName: spec.displayName,
          preferredLanguage: spec.preferredLanguage,
          password,
          state: spec.state === 'inactive' || spec.state === 'locked' ? undefined : spec.state,
        }),
      );
    } else {
      const { notes, patch } = diffFields<ops.UserPatch>(profile);
      // A changed email is otherwise unverified by the service; keep what the file says.
      if (patch.email !== undefined && spec.emailVerified !== undefined) patch.emailVerified = spec.emailVerified;
      if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateUserProfile(ctx, userId, patch));
      if (password && !(await p.secretMatches(cur.password_hash, password))) {
        p.add('~', `${what}: password (from $${spec.passwordFromEnv})`, [...at, 'passwordFromEnv'], (ctx) => ops.setPassword(ctx, userId, password));
      }
    }
  }
  planUserState(p, what, cur, spec, userId, at);
  planMetadata(p, what, cur ? p.idx.metadata(cur.id) : {}, spec.metadata, userId, at);
}

function planUserState(p: PlanContext, what: string, cur: UserRow | undefined, spec: UserSpec, userId: string, at: SpecPath): void {
  const want = spec.state;
  // New users: inactive and locked are reached after creation.
  const from = cur?.state ?? (want === 'inactive' || want === 'locked' ? 'active' : want);
  if (!want || from === want) return;
  const step = ops.userStateStep(from!, want);
  if (!step) p.fail([...at, 'state'], `a ${from} user cannot be made ${want} by apply`);
  p.add('~', `${what}: state ${from} → ${want}`, [...at, 'state'], (ctx) => step(ctx, userId), { last: want !== 'active' });
}

function planMetadata(
  p: PlanContext,
  what: string,
  stored: Record<string, string>,
  wanted: Record<string, string> | undefined,
  userId: string,
  at: SpecPath,
): void {
  for (const [key, value] of Object.entries(wanted ?? {})) {
    if (stored[key] === value) continue;
    p.add(stored[key] === undefined ? '+' : '~', `${what} metadata ${key}: ${JSON.stringify(value)}`, [...at, 'metadata', key], (ctx) =>
      ops.setUserMetadata(ctx, userId, key, value),
    );
  }
}
