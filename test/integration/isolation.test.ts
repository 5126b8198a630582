import { readdirSync } from 'node:fs';
import { sha256 } from '../../src/shared/crypto.js';
import path from 'node:path';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { Scope } from '../../src/db/scope.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import * as instanceRepo from '../../src/domain/instance/repository.js';
import * as smsProviderRepo from '../../src/domain/instance/sms-provider-repository.js';
import { setHttpSmsProvider } from '../../src/domain/instance/sms-provider.js';
import * as orgRepo from '../../src/domain/org/repository.js';
import * as userCodeRepo from '../../src/domain/user/code-repository.js';
import * as userSummaryRepo from '../../src/domain/user/summary-repository.js';
import * as userRepo from '../../src/domain/user/repository.js';
import * as loginNameRepo from '../../src/domain/user/login-name-repository.js';
import * as memberRepo from '../../src/domain/membership/repository.js';
import * as policyRepo from '../../src/domain/policy/repository.js';
import * as idpRepo from '../../src/domain/idp/repository.js';
import * as auditRepo from '../../src/domain/audit/repository.js';
import * as projectRepo from '../../src/domain/project/repository.js';
import * as grantRepo from '../../src/domain/project-grant/repository.js';
import * as userGrantRepo from '../../src/domain/user-grant/repository.js';
import * as accessRepo from '../../src/domain/access/repository.js';
import * as mfaRepo from '../../src/domain/mfa/repository.js';
import * as passkeyRepo from '../../src/domain/passkey/repository.js';
import * as consentRepo from '../../src/domain/consent/repository.js';
import * as sessionRepo from '../../src/domain/session/repository.js';
import * as oidcRepo from '../../src/oidc/repository.js';
import * as signingKeyRepo from '../../src/domain/signing-key/repository.js';
import * as snapshotRepo from '../../src/domain/snapshot/repository.js';
import * as versionRepo from '../../src/domain/version-repository.js';
import * as outboxRepo from '../../src/notify/outbox-repository.js';
import { getEffectivePolicy, getOrgPolicyOverride } from '../../src/domain/policy/service.js';
import { getIdpWithSecret } from '../../src/domain/idp/service.js';
import { getSmtpSettings, setSmtpSettings } from '../../src/domain/instance/service.js';
import { addOrgDomain, createOrg } from '../../src/domain/org/service.js';
import {
  addMachineKey,
  addPersonalAccessToken,
  createHumanUser,
  createMachineUser,
  generateMachineSecret,
  setUserMetadata,
} from '../../src/domain/user/service.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { createIdp, linkUserToIdp } from '../../src/domain/idp/service.js';
import { addMember } from '../../src/domain/membership/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';

/**
 * Instance isolation: every repository function, called with instance B's Scope and the ids of
 * instance A's rows, reads nothing of A and changes nothing of A. The test finds the repository
 * modules itself (every repository.ts under src/) and fails for an exported function that is
 * neither in `reads` or `writes` nor exempted below with its reason, so none can be forgotten.
 */
let rt: Runtime;
let A: TestInstance;
let B: TestInstance;
let a: Awaited<ReturnType<typeof buildFixture>>;

const tables = [
  'orgs',
  'org_domains',
  'users',
  'user_metadata',
  'machine_keys',
  'personal_access_tokens',
  'user_totp',
  'user_recovery_codes',
  'projects',
  'project_roles',
  'applications',
  'project_grants',
  'user_grants',
  'memberships',
  'policies',
  'label_assets',
  'idps',
  'user_idp_links',
  'signing_keys',
  'audit_events',
  'oidc_payloads',
  'instance_domains',
  'user_codes',
  'ui_sessions',
  'user_passkeys',
  'webauthn_challenges',
  'instance_sms_providers',
  'mail_outbox',
];

/** A digest of every row of instance A, table by table. */
async function fingerprint(instanceId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of [...tables, 'instances']) {
    const col = t === 'instances' ? 'id' : 'instance_id';
    const { rows } = await rt.db.knex.raw(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${t} t WHERE ${col} = ?`,
      [instanceId],
    );
    out[t] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}

async function buildFixture(inst: TestInstance) {
  const ctx: ServiceContext = { deps: rt.deps, scope: inst.scope, actor: systemPrincipal };
  const orgId = (await createOrg(ctx, { name: 'Isolated Owner Org' })).id;
  const grantedOrgId = (await createOrg(ctx, { name: 'Isolated Granted Org' })).id;
  await addOrgDomain(ctx, orgId, 'isolated-a.example', { verified: true });
  const userId = (await createHumanUser(ctx, { orgId, username: 'isolated-human', email: 'isolated@a.example', emailVerified: true, password: 'Passw0rd!' }))
    .id;
  const machineId = (await createMachineUser(ctx, { orgId, username: 'isolated-machine', name: 'M' })).id;
  await generateMachineSecret(ctx, machineId);
  const key = await addMachineKey(ctx, machineId);
  const pat = await addPersonalAccessToken(ctx, machineId);
  await setUserMetadata(ctx, userId, 'k', 'v');
  await setOrgPolicy(ctx, orgId, 'lockout', { maxPasswordAttempts: 2 });
  const idpId = (await createIdp(ctx, { orgId, name: 'I', issuer: 'https://idp.a.example', clientId: 'c', clientSecret: 'isolated-secret' })).id;
  await linkUserToIdp(ctx, { idpId, externalUserId: 'ext-a', userId });
  const projectId = (await createProject(ctx, { orgId, name: 'Isolated Project' })).id;
  await addProjectRoles(ctx, projectId, [{ key: 'iso-role', displayName: 'R' }]);
  const app = await createApplication(ctx, projectId, {
    name: 'Isolated App',
    appType: 'web',
    authMethod: 'client_secret_basic',
    redirectUris: ['https://app.a.example/cb'],
  });
  const grantId = (await grantProject(ctx, { projectId, grantedOrgId, roleKeys: ['iso-role'] })).id;
  const userGrantId = (await addUserGrant(ctx, { userId, projectId, orgId, roleKeys: ['iso-role'] })).id;
  // One made by the granted org under its grant, so per-grant reads have a row to find.
  const userGrantUnderGrantId = (await addUserGrant(ctx, { userId, projectId, orgId: grantedOrgId, roleKeys: ['iso-role'] })).id;
  const membershipId = (await addMember(ctx, { userId, level: 'org', orgId, roles: ['ORG_OWNER'] })).id;
  await setHttpSmsProvider(ctx, { endpoint: 'https://sms.a.example/hook' });
  await setSmtpSettings(ctx, { host: 'smtp.a.example', port: 25, tls: false, password: 'isolated-smtp', fromAddress: 'a@a.example', fromName: 'A' });
  await mfaRepo.putUnverifiedTotp(inst.scope, userId, rt.deps.box.encrypt('isolated-totp'));
  await mfaRepo.replaceRecoveryCodes(inst.scope, userId, ['isolated-code-hash']);
  await policyRepo.replaceLabelAsset(inst.scope, { org_id: orgId, kind: 'logo_light', content_type: 'image/png', data: Buffer.from('isolated-logo') });
  await userCodeRepo.replaceUserCode(inst.scope, {
    user_id: userId,
    kind: 'password_reset',
    code_hash: 'isolated-code-hash',
    email: null,
    expires_at: new Date(Date.now() + 3600_000),
  });
  // A count to clear, so a reset through another instance's Scope would show.
  await userRepo.countFailedPasswordAttempt(inst.scope, userId);
  const appRow = (await projectRepo.listApplications(inst.scope, projectId))[0];
  const passkeyId = 'iso-passkey';
  await passkeyRepo.insertPasskey(inst.scope, {
    id: passkeyId,
    user_id: userId,
    credential_id: 'isolated-cred',
    public_key: Buffer.from('isolated-key'),
    sign_count: 0,
    backup_eligible: false,
    backed_up: false,
    transports: [],
    aaguid: null,
    rp_id: inst.domain,
    name: 'Isolated passkey',
  });
  const challengeId = '777';
  await passkeyRepo.insertChallenge(inst.scope, {
    id: challengeId,
    purpose: 'authentication',
    user_id: null,
    binding: 'isolated-binding',
    challenge: 'isolated-challenge',
    rp_id: inst.domain,
    origin: `https://${inst.domain}`,
    user_verification: true,
    expires_at: new Date(Date.now() + 3600_000),
  });
  const kid = (await signingKeyRepo.listSigningKeys(inst.scope))[0].kid;
  // A consent as oidc-provider stores it, with a token issued under it.
  await inst.scope.insert('oidc_payloads', [
    { model: 'Grant', id: 'iso-consent', payload: JSON.stringify({ accountId: userId, clientId: appRow.client_id, iat: 1, openid: { scope: 'openid' } }) },
    { model: 'AccessToken', id: 'iso-token', grant_id: 'iso-consent', payload: JSON.stringify({ accountId: userId, grantId: 'iso-consent' }) },
    {
      model: 'Session',
      id: 'iso-session',
      payload: JSON.stringify({ accountId: userId, loginTs: 1, authorizations: { [appRow.client_id]: { grantId: 'iso-consent' } } }),
    },
  ]);
  // A mail waiting in the outbox, due far ahead: no sender of a concurrent test file takes it.
  const outboxId = 'iso-outbox';
  await outboxRepo.insertOutboxRow(inst.scope, { id: outboxId, user_id: userId, payload: 'isolated-payload' });
  await rt.db
    .knex('mail_outbox')
    .where({ instance_id: inst.instanceId, id: outboxId })
    .update({ next_attempt_at: new Date('2999-01-01') });
  await sessionRepo.insertUiSession(inst.scope, {
    id_hash: 'iso-ui-session',
    app: 'console',
    user_id: userId,
    csrf_secret: 'x',
    provider_sid: null,
    id_token_enc: null,
    expires_at: new Date(Date.now() + 3600_000),
  });
  return {
    kid,
    instanceId: inst.instanceId,
    domain: inst.domain,
    orgId,
    grantedOrgId,
    userId,
    machineId,
    keyId: key.keyId,
    pat,
    idpId,
    projectId,
    appId: appRow.id,
    clientId: appRow.client_id,
    grantId,
    userGrantId,
    userGrantUnderGrantId,
    outboxId,
    membershipId,
    app,
    passkeyId,
    challengeId,
  };
}

beforeAll(async () => {
  rt = await testRuntime();
  A = await testInstance(rt, 'Isolation A');
  B = await testInstance(rt, 'Isolation B');
  a = await buildFixture(A);
}, 60_000);
afterAll(async () => {
  await rt.close();
});

/** Anything of A's that must never show up in B's answers. */
function mentionsA(value: unknown): boolean {
  const text = JSON.stringify(value ?? null);
  const secrets = [
    a.instanceId,
    a.orgId,
    a.grantedOrgId,
    a.userId,
    a.machineId,
    a.keyId,
    a.pat.id,
    a.idpId,
    a.projectId,
    a.appId,
    a.clientId,
    a.grantId,
    a.userGrantId,
    a.membershipId,
    a.kid,
    a.domain,
    'isolated-a.example',
    'isolated-secret',
    'isolated-smtp',
    'isolated-code-hash',
    'Isolated',
  ];
  return secrets.some((s) => text.includes(s));
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

const firstPage = { offset: 0, limit: 100, asc: true };
/** A page as one list: its total, then its rows (empty when nothing matched). */
const pageRows = (p: { total: number; rows: unknown[] }) => (p.total === 0 && p.rows.length === 0 ? [] : [p.total, ...p.rows]);

/** `ownInstance`: the call answers with the calling instance's own data, which must simply not be A's. */
type Read = [name: string, call: (s: Scope) => Promise<unknown>, ownInstance?: 'ownInstance'];

/** Each read, with A's own Scope, finds A's data (so the check is not vacuous); with B's it finds none. */
const reads: Read[] = [
  ['instance.getInstance', (s) => instanceRepo.getInstance(s), 'ownInstance'],
  ['instance.listInstanceDomains', (s) => instanceRepo.listInstanceDomains(s), 'ownInstance'],
  ['instance.primaryInstanceDomain', (s) => instanceRepo.primaryInstanceDomain(s), 'ownInstance'],
  ['instance.getSmtpSettings', (s) => getSmtpSettings(s, rt.deps.box)],
  ['instance.getSmsProviderRow', (s) => smsProviderRepo.getSmsProviderRow(s)],
  ['domain.lockVersionedRow', (s) => s.transaction((t) => versionRepo.lockVersionedRow(t, 'user', a.userId))],
  ['org.getOrg', (s) => orgRepo.getOrg(s, a.orgId)],
  ['org.findOrgByName', (s) => orgRepo.findOrgByName(s, 'Isolated Owner Org')],
  ['org.listOrgs', (s) => orgRepo.listOrgs(s), 'ownInstance'],
  ['org.listOrgDomains', (s) => orgRepo.listOrgDomains(s, a.orgId)],
  ['org.getOrgDomain', (s) => orgRepo.getOrgDomain(s, a.orgId, 'isolated-a.example')],
  ['org.findOrgByVerifiedDomain', (s) => orgRepo.findOrgByVerifiedDomain(s, 'isolated-a.example')],
  ['org.findVerifiedDomainHolder', (s) => orgRepo.findVerifiedDomainHolder(s, 'isolated-a.example')],
  ['org.primaryOrgDomain', (s) => orgRepo.primaryOrgDomain(s, a.orgId)],
  ['user.getUser', (s) => userRepo.getUser(s, a.userId)],
  ['user.listUsers', (s) => userRepo.listUsers(s, { orgId: a.orgId })],
  ['user.findUsersByUsername', (s) => userRepo.findUsersByUsername(s, 'isolated-human')],
  ['user.findUserByLoginName (domain)', (s) => loginNameRepo.findUserByLoginName(s, 'isolated-human@isolated-a.example')],
  ['user.findUserByLoginName (email)', (s) => loginNameRepo.findUserByLoginName(s, 'isolated@a.example')],
  ['user.resolveLoginName (domain)', async (s) => (await loginNameRepo.resolveLoginName(s, 'isolated-human@isolated-a.example')).user],
  ['user.resolveLoginName (email)', async (s) => (await loginNameRepo.resolveLoginName(s, 'isolated@a.example')).user],
  [
    'user.resolveLoginName (second factors)',
    async (s) =>
      (await loginNameRepo.resolveLoginName(s, 'isolated-human@isolated-a.example', mfaRepo.secondFactorColumns(s, 'u.id', a.domain))).extra?.has_passkey
        ? 1
        : null,
  ],
  ['user.loginNamesOf', async (s) => (await loginNameRepo.loginNamesOf(s, { username: 'u', org_id: a.orgId })).filter((n) => n !== 'u')],
  [
    'user.loginNamesOfUsers',
    async (s) =>
      (await loginNameRepo.loginNamesOfUsers(s, [{ id: a.userId, username: 'u', org_id: a.orgId }])).get(a.userId)!.loginNames.filter((n) => n !== 'u'),
  ],
  ['user.findUserByPersonalAccessToken', (s) => userRepo.findUserByPersonalAccessToken(s, a.pat.token)],
  ['user.orgLoginNames', async (s) => [...(await loginNameRepo.orgLoginNames(s, [a.orgId])).values()]],
  ['user.findPersonalAccessTokenByHash', (s) => userRepo.findPersonalAccessTokenByHash(s, sha256(a.pat.token))],
  ['user.getMachineByClientId', (s) => loginNameRepo.getMachineByClientId(s, 'isolated-machine')],
  ['user.listMachineKeys', (s) => userRepo.listMachineKeys(s, a.machineId, { includeExpired: true })],
  ['user.getMachineKey', (s) => userRepo.getMachineKey(s, a.machineId, a.keyId)],
  ['user.listPersonalAccessTokens', (s) => userRepo.listPersonalAccessTokens(s, a.machineId)],
  ['user.getUserMetadata', async (s) => Object.keys(await userRepo.getUserMetadata(s, a.userId)).length],
  ['membership.listMembershipsOfUser', (s) => memberRepo.listMembershipsOfUser(s, a.userId)],
  ['membership.getMembership', (s) => memberRepo.getMembership(s, a.membershipId)],
  ['membership.listMemberships', (s) => memberRepo.listMemberships(s, { orgId: a.orgId })],
  ['membership.projectOwnerOrg', (s) => memberRepo.projectOwnerOrg(s, a.projectId)],
  ['membership.projectGrantRef', (s) => memberRepo.projectGrantRef(s, a.grantId)],
  ['policy.getPolicyRow', (s) => policyRepo.getPolicyRow(s, 'lockout', a.orgId)],
  ['policy.listOrgPolicyOverrides', (s) => policyRepo.listOrgPolicyOverrides(s, a.orgId)],
  ['policy.getOrgPolicyOverride', (s) => getOrgPolicyOverride(s, a.orgId, 'lockout')],
  ['policy.getEffectivePolicy', async (s) => (await getEffectivePolicy(s, 'lockout', a.orgId)).maxPasswordAttempts === 2],
  ['idp.getIdp', (s) => idpRepo.getIdp(s, a.idpId)],
  ['idp.getIdpSecretEnc', (s) => idpRepo.getIdpSecretEnc(s, a.idpId)],
  ['idp.getIdpWithSecret', (s) => getIdpWithSecret(s, a.idpId, rt.deps.box)],
  ['idp.listIdps', (s) => idpRepo.listIdps(s, { orgId: a.orgId })],
  ['idp.findUserByIdpLink', (s) => idpRepo.findUserByIdpLink(s, a.idpId, 'ext-a')],
  ['idp.listIdpLinksOfUser', (s) => idpRepo.listIdpLinksOfUser(s, a.userId)],
  ['audit.listEvents', (s) => auditRepo.listEvents(s, { resourceId: a.orgId })],
  ['project.getProject', (s) => projectRepo.getProject(s, a.projectId)],
  ['project.listProjects', (s) => projectRepo.listProjects(s, { orgId: a.orgId })],
  ['project.findProjectByName', (s) => projectRepo.findProjectByName(s, a.orgId, 'Isolated Project')],
  ['project.listProjectRoles', (s) => projectRepo.listProjectRoles(s, a.projectId)],
  ['project.getProjectRole', async (s) => !!(await projectRepo.getProjectRole(s, a.projectId, 'iso-role'))],
  ['project.getApplication', (s) => projectRepo.getApplication(s, a.appId)],
  ['project.findApplicationByClientId', (s) => projectRepo.findApplicationByClientId(s, a.clientId)],
  ['project.listApplications', (s) => projectRepo.listApplications(s, a.projectId)],
  ['projectGrant.getProjectGrant', (s) => grantRepo.getProjectGrant(s, a.grantId)],
  ['projectGrant.findProjectGrant', (s) => grantRepo.findProjectGrant(s, a.projectId, a.grantedOrgId)],
  ['projectGrant.listProjectGrants', (s) => grantRepo.listProjectGrants(s, { projectId: a.projectId })],
  ['projectGrant.listGrantedProjects', (s) => grantRepo.listGrantedProjects(s, a.grantedOrgId)],
  ['userGrant.getUserGrant', (s) => userGrantRepo.getUserGrant(s, a.userGrantId)],
  ['userGrant.findUserGrant', (s) => userGrantRepo.findUserGrant(s, a.userId, a.projectId, a.orgId)],
  ['userGrant.listUserGrants', (s) => userGrantRepo.listUserGrants(s, { userId: a.userId })],
  ['userGrant.activeRoleGrants', (s) => userGrantRepo.activeRoleGrants(s, a.userId, [a.projectId])],
  ['userGrant.userHasProjectAccess', (s) => userGrantRepo.userHasProjectAccess(s, { userId: a.userId, projectId: a.projectId })],
  ['access.principalStates', (s) => accessRepo.principalStates(s, a.userId)],
  ['access.activeGrantExpiries', (s) => accessRepo.activeGrantExpiries(s, a.userId, a.projectId)],
  ['membership.listEffectiveMembershipsOfUser', (s) => memberRepo.listEffectiveMembershipsOfUser(s, a.userId)],
  ['membership.countOtherIamOwners', (s) => memberRepo.countOtherIamOwners(s, a.userId), 'ownInstance'],
  [
    'user.preferredLoginName',
    async (s) => {
      const n = await loginNameRepo.preferredLoginName(s, { username: 'u', org_id: a.orgId });
      return n === 'u' ? null : n;
    },
  ],
  ['userGrant.activeRoleGrantsQuery', async (s) => userGrantRepo.activeRoleGrantsQuery(s, a.userId, [a.projectId])],
  ['mfa.getTotp', (s) => mfaRepo.getTotp(s, a.userId)],
  ['mfa.countUnusedRecoveryCodes', (s) => mfaRepo.countUnusedRecoveryCodes(s, a.userId)],
  ['mfa.secondFactorsOf', async (s) => ((await mfaRepo.secondFactorsOf(s, a.userId, a.domain)).passkey ? 1 : null)],
  ['passkey.listPasskeysOfUser', (s) => passkeyRepo.listPasskeysOfUser(s, a.userId)],
  ['passkey.getPasskey', (s) => passkeyRepo.getPasskey(s, a.userId, a.passkeyId)],
  ['passkey.findPasskeyByCredentialId', (s) => passkeyRepo.findPasskeyByCredentialId(s, 'isolated-cred')],
  ['passkey.countPasskeysOfUser', (s) => passkeyRepo.countPasskeysOfUser(s, a.userId)],
  ['consent.listConsentGrants', (s) => consentRepo.listConsentGrants(s, a.userId)],
  ['consent.applicationsByClientId', (s) => consentRepo.applicationsByClientId(s, [a.clientId])],
  ['idp.countIdpLinksOfUser', (s) => idpRepo.countIdpLinksOfUser(s, a.userId)],
  ['idp.countLinksOfIdp', (s) => idpRepo.countLinksOfIdp(s, a.idpId)],
  // the sum of the counts: A's org has users, another instance's Scope counts none of them
  ['org.countOrgContents', async (s) => Object.values(await orgRepo.countOrgContents(s, a.orgId)).reduce((n, c) => n + c, 0)],
  // '' (no primary domain) counts as found nothing
  ['user.loginNameSuffix', (s) => loginNameRepo.loginNameSuffix(s, a.orgId).then((suffix) => suffix || undefined)],
  ['policy.labelAssetStamps', async (s) => [...(await policyRepo.labelAssetStamps(s, a.orgId)).values()]],
  ['membership.listMembershipsOfUserNamed', (s) => memberRepo.listMembershipsOfUserNamed(s, a.userId)],
  ['userGrant.listUserGrantsOfUserNamed', (s) => userGrantRepo.listUserGrantsOfUserNamed(s, a.userId)],
  ['session.findUiSession', (s) => sessionRepo.findUiSession(s, 'iso-ui-session')],
  ['session.listSignInSessions', (s) => sessionRepo.listSignInSessions(s, a.userId)],
  ['session.getSignInSession', (s) => sessionRepo.getSignInSession(s, a.userId, 'iso-session')],
  ['passkey.instanceServesDomain', (s) => passkeyRepo.instanceServesDomain(s, a.domain)],
  ['user.findHumansByEmail', (s) => userRepo.findHumansByEmail(s, 'isolated@a.example', { orgId: null, states: ['active', 'initial'], limit: 2 })],
  ['user.getUserCode', (s) => userCodeRepo.getUserCode(s, a.userId, 'password_reset')],
  ['user.userCodeIssuedAt', (s) => userCodeRepo.userCodeIssuedAt(s, a.userId, 'password_reset')],
  ['project.findProjectOfClient', (s) => projectRepo.findProjectOfClient(s, a.clientId)],
  ['oidc.applicationByClientId', (s) => oidcRepo.applicationByClientId(s, a.clientId)],
  ['oidc.machineByClientId', (s) => oidcRepo.machineByClientId(s, 'isolated-machine')],
  ['oidc.machineByClientId (user id)', (s) => oidcRepo.machineByClientId(s, a.machineId)],
  ['oidc.machineKeys', (s) => oidcRepo.machineKeys(s, a.machineId)],
  ['oidc.projectSettings', (s) => oidcRepo.projectSettings(s, a.projectId)],
  ['oidc.userById', (s) => oidcRepo.userById(s, a.userId)],
  ['oidc.userByLoginName', (s) => oidcRepo.userByLoginName(s, 'isolated-human@isolated-a.example')],
  ['oidc.orgSummary', (s) => oidcRepo.orgSummary(s, a.orgId)],
  [
    'oidc.userWithRoleGrants',
    async (s) => {
      const r = await oidcRepo.userWithRoleGrants(s, a.userId, [a.projectId]);
      return [r.user, ...r.grants].filter(Boolean);
    },
  ],
  ['oidc.orgHasProject', (s) => oidcRepo.orgHasProject(s, { id: a.userId, org_id: a.orgId }, a.projectId)],
  ['user.pageUsers', (s) => userRepo.pageUsers(s, { orgId: a.orgId }, firstPage).then(pageRows)],
  ['org.pageOrgs', (s) => orgRepo.pageOrgs(s, {}, firstPage).then(pageRows), 'ownInstance'],
  ['membership.pageMemberships', (s) => memberRepo.pageMemberships(s, { orgId: a.orgId }, firstPage).then(pageRows)],
  ['project.pageProjects', (s) => projectRepo.pageProjects(s, { orgId: a.orgId }, firstPage).then(pageRows)],
  ['project.pageApplications', (s) => projectRepo.pageApplications(s, { projectId: a.projectId }, firstPage).then(pageRows)],
  ['projectGrant.pageProjectGrants', (s) => grantRepo.pageProjectGrants(s, { projectId: a.projectId }, firstPage).then(pageRows)],
  ['projectGrant.pageGrantedProjects', (s) => grantRepo.pageGrantedProjects(s, { orgId: a.grantedOrgId }, firstPage).then(pageRows)],
  ['userGrant.pageUserGrants', (s) => userGrantRepo.pageUserGrants(s, { orgId: a.orgId }, undefined, firstPage).then(pageRows)],
  ['oidc.activeRoleGrants', (s) => oidcRepo.activeRoleGrants(s, a.userId, [a.projectId])],
  ['idp.getIdpLink', (s) => idpRepo.getIdpLink(s, a.idpId, 'ext-a')],
  ['policy.getLabelAsset', (s) => policyRepo.getLabelAsset(s, a.orgId, 'logo_light')],
  ['project.projectNameTaken', (s) => projectRepo.projectNameTaken(s, a.orgId, 'Isolated Project', 'another-project')],
  ['signingKey.listSigningKeys', (s) => signingKeyRepo.listSigningKeys(s), 'ownInstance'],
  ['signingKey.publishedSigningKeys', (s) => signingKeyRepo.publishedSigningKeys(s), 'ownInstance'],
  ['signingKey.lockCurrentSigningKeys', (s) => s.transaction((tx) => signingKeyRepo.lockCurrentSigningKeys(tx)), 'ownInstance'],
  ['snapshot.readInstanceState', (s) => snapshotRepo.readInstanceState(s), 'ownInstance'],
  ['oidc.userMetadata', async (s) => Object.keys(await oidcRepo.userMetadata(s, a.userId)).length],
  ['project.projectNamesByIds', async (s) => [...(await projectRepo.projectNamesByIds(s, [a.projectId])).values()]],
  ['project.countProjectParts', async (s) => Object.values(await projectRepo.countProjectParts(s, a.projectId)).reduce((x, y) => x + y, 0)],
  ['project.countRoleUses', async (s) => Object.values(await projectRepo.countRoleUses(s, a.projectId, 'iso-role')).reduce((x, y) => x + y, 0)],
  ['project.listOrgApplications', (s) => projectRepo.listOrgApplications(s, a.orgId)],
  ['org.orgNamesByIds', async (s) => [...(await orgRepo.orgNamesByIds(s, [a.orgId])).values()]],
  ['user.userSummariesByIds', async (s) => [...(await userSummaryRepo.userSummariesByIds(s, [a.userId])).values()]],
  ['user.findUserByExactLoginName', (s) => loginNameRepo.findUserByExactLoginName(s, 'isolated-human@isolated-a.example')],
  ['user.findUserNamedFromOrg', (s) => loginNameRepo.findUserNamedFromOrg(s, a.orgId, 'isolated-human')],
  ['projectGrant.countUserGrantsOfProjectGrants', async (s) => [...(await grantRepo.countUserGrantsOfProjectGrants(s, [a.grantId])).values()]],
  ['audit.pageEventsBefore', async (s) => (await auditRepo.pageEventsBefore(s, { orgId: a.orgId }, undefined, 10)).rows],
];

type Write = [name: string, call: (s: Scope) => Promise<unknown>];

/**
 * Each write, with B's Scope and A's ids, touches no row of A: it affects nothing or the database
 * refuses it. (findInstanceIdByDomain, listInstanceIds and insertInstance take the bare knex on
 * purpose: they are how a request finds its instance, and how one is created.)
 */
const writes: Write[] = [
  ['notify.insertOutboxRow', (s) => outboxRepo.insertOutboxRow(s, { id: 'iso-outbox-b', user_id: a.userId, payload: 'hijacked' }).then(() => 0)],
  ['notify.deleteOutboxRow', (s) => outboxRepo.deleteOutboxRow(s, a.outboxId)],
  ['notify.retryOutboxRowLater', (s) => outboxRepo.retryOutboxRowLater(s, a.outboxId, 'hijacked', 1)],
  ['notify.markOutboxRowFailed', (s) => outboxRepo.markOutboxRowFailed(s, a.outboxId, 'hijacked')],
  ['instance.updateInstance', (s) => instanceRepo.updateInstance(s, { name: 'hijacked' }).then(() => 0)],
  ['instance.deleteInstanceDomain', (s) => instanceRepo.deleteInstanceDomain(s, a.domain)],
  ['instance.updateSmsProvider', (s) => smsProviderRepo.updateSmsProvider(s, { endpoint: 'https://hijacked.example/', updated_at: new Date() })],
  ['instance.deleteSmsProvider', (s) => smsProviderRepo.deleteSmsProvider(s)],
  [
    'instance.insertSmsProvider',
    (s) => smsProviderRepo.insertSmsProvider(s, { type: 'http', endpoint: 'https://b.example/', description: null, signing_key_enc: 'x' }).then(() => 0),
  ],
  ['org.updateOrg', (s) => orgRepo.updateOrg(s, a.orgId, { name: 'hijacked' })],
  ['org.updateOrgDomain', (s) => orgRepo.updateOrgDomain(s, a.orgId, 'isolated-a.example', { is_verified: false })],
  ['org.clearPrimaryOrgDomain', (s) => orgRepo.clearPrimaryOrgDomain(s, a.orgId).then(() => 0)],
  ['org.deleteOrgDomain', (s) => orgRepo.deleteOrgDomain(s, a.orgId, 'isolated-a.example')],
  [
    'org.insertOrgDomain',
    (s) => orgRepo.insertOrgDomain(s, { org_id: a.orgId, domain: 'x.example', is_verified: true, is_primary: false, is_generated: false }),
  ],
  ['user.insertUser', (s) => userRepo.insertUser(s, { id: 'iso-new', org_id: a.orgId, type: 'human', username: 'intruder' })],
  ['user.updateUser', (s) => userRepo.updateUser(s, a.userId, { state: 'locked' })],
  [
    'membership.insertMembership',
    (s) =>
      memberRepo.insertMembership(s, { user_id: a.userId, level: 'instance', org_id: null, project_id: null, project_grant_id: null, roles: ['IAM_OWNER'] }),
  ],
  ['membership.updateMembershipRoles', (s) => memberRepo.updateMembershipRoles(s, a.membershipId, ['ORG_OWNER_VIEWER'])],
  ['membership.deleteMembership', (s) => memberRepo.deleteMembership(s, a.membershipId)],
  ['policy.upsertPolicyRow', (s) => policyRepo.upsertPolicyRow(s, 'lockout', a.orgId, { maxPasswordAttempts: 0 })],
  ['policy.deletePolicyRow', (s) => policyRepo.deletePolicyRow(s, 'lockout', a.orgId)],
  ['idp.updateIdpRow', (s) => idpRepo.updateIdpRow(s, a.idpId, { issuer: 'https://evil.example' })],
  ['idp.deleteIdpRow', (s) => idpRepo.deleteIdpRow(s, a.idpId)],
  ['project.insertProjectRole', (s) => projectRepo.insertProjectRole(s, { project_id: a.projectId, key: 'evil', display_name: 'Evil' })],
  ['project.updateProjectRow', (s) => projectRepo.updateProjectRow(s, a.projectId, { name: 'hijacked' })],
  ['project.updateProjectRoleRow', (s) => projectRepo.updateProjectRoleRow(s, a.projectId, 'iso-role', { display_name: 'hijacked' })],
  ['project.stripRolesFromProjectGrants', (s) => projectRepo.stripRolesFromProjectGrants(s, a.projectId, ['iso-role'])],
  ['project.stripRolesFromUserGrants', (s) => projectRepo.stripRolesFromUserGrants(s, a.projectId, ['iso-role'])],
  ['project.updateApplicationRow', (s) => projectRepo.updateApplicationRow(s, a.appId, { name: 'hijacked' })],
  ['project.deleteApplicationRow', (s) => projectRepo.deleteApplicationRow(s, a.appId)],
  ['project.deleteProjectRoleRow', (s) => projectRepo.deleteProjectRoleRow(s, a.projectId, 'iso-role')],
  ['projectGrant.insertProjectGrant', (s) => grantRepo.insertProjectGrant(s, { id: 'iso-g', project_id: a.projectId, granted_org_id: a.orgId, role_keys: [] })],
  ['projectGrant.updateProjectGrantRow', (s) => grantRepo.updateProjectGrantRow(s, a.grantId, { state: 'inactive' })],
  [
    'userGrant.insertUserGrant',
    (s) =>
      userGrantRepo.insertUserGrant(s, { id: 'iso-ug', user_id: a.userId, project_id: a.projectId, org_id: a.orgId, project_grant_id: null, role_keys: [] }),
  ],
  ['userGrant.updateUserGrantRow', (s) => userGrantRepo.updateUserGrantRow(s, a.userGrantId, { state: 'inactive' })],
  ['userGrant.deleteUserGrantsOfProjectGrant', (s) => userGrantRepo.deleteUserGrantsOfProjectGrant(s, a.grantId)],
  ['userGrant.deleteUserGrantRow', (s) => userGrantRepo.deleteUserGrantRow(s, a.userGrantId)],
  ['projectGrant.deleteProjectGrantRow', (s) => grantRepo.deleteProjectGrantRow(s, a.grantId)],
  ['project.deleteProjectRow', (s) => projectRepo.deleteProjectRow(s, a.projectId)],
  ['audit.appendEvent', (s) => auditRepo.appendEvent(s, systemPrincipal, { orgId: a.orgId, resourceType: 'org', resourceId: a.orgId, type: 'org.probe' })],
  ['instance.insertInstanceDomain', (s) => instanceRepo.insertInstanceDomain(s, { domain: a.domain })],
  ['org.insertOrg', (s) => orgRepo.insertOrg(s, { id: 'iso-org', name: 'Isolated Owner Org' })],
  [
    'idp.insertIdp',
    (s) =>
      idpRepo.insertIdp(s, {
        id: 'iso-idp',
        org_id: a.orgId,
        name: 'x',
        issuer: 'https://x',
        client_id: 'x',
        client_secret_enc: null,
        scopes: [],
        is_linking_allowed: true,
        is_creation_allowed: true,
        is_auto_creation: false,
        is_auto_update: false,
        auto_linking: 'none',
      }),
  ],
  ['project.insertProject', (s) => projectRepo.insertProject(s, { id: 'iso-p', org_id: a.orgId, name: 'x' })],
  [
    'project.insertApplication',
    (s) => projectRepo.insertApplication(s, { id: 'iso-app', project_id: a.projectId, name: 'x', client_id: 'iso-x', app_type: 'web', auth_method: 'none' }),
  ],
  ['mfa.putUnverifiedTotp', (s) => mfaRepo.putUnverifiedTotp(s, a.userId, 'x')],
  ['mfa.claimTotpStep', (s) => mfaRepo.claimTotpStep(s, a.userId, 1, { verify: true })],
  ['mfa.recordTotpFailure', (s) => mfaRepo.recordTotpFailure(s, a.userId, 1, 60_000)],
  ['mfa.resetTotpFailures', (s) => mfaRepo.resetTotpFailures(s, a.userId)],
  ['mfa.useRecoveryCode', (s) => mfaRepo.useRecoveryCode(s, a.userId, 'isolated-code-hash')],
  ['mfa.replaceRecoveryCodes', (s) => mfaRepo.replaceRecoveryCodes(s, a.userId, ['x'])],
  ['mfa.deleteTotp', (s) => mfaRepo.deleteTotp(s, a.userId)],
  [
    'passkey.insertPasskey',
    (s) =>
      passkeyRepo.insertPasskey(s, {
        id: 'iso-pk2',
        user_id: a.userId,
        credential_id: 'isolated-cred',
        public_key: Buffer.from('x'),
        sign_count: 0,
        backup_eligible: false,
        backed_up: false,
        transports: [],
        aaguid: null,
        rp_id: a.domain,
        name: 'x',
      }),
  ],
  ['passkey.renamePasskeyRow', (s) => passkeyRepo.renamePasskeyRow(s, a.userId, a.passkeyId, 'hijacked')],
  ['passkey.recordPasskeyUse', (s) => passkeyRepo.recordPasskeyUse(s, a.passkeyId, 0, 99, true)],
  [
    'passkey.insertChallenge',
    (s) =>
      passkeyRepo.insertChallenge(s, {
        id: '778',
        purpose: 'authentication',
        user_id: null,
        binding: 'x',
        challenge: 'x',
        rp_id: a.domain,
        origin: 'x',
        user_verification: true,
        expires_at: new Date(Date.now() + 60_000),
      }),
  ],
  ['passkey.takeChallenge', (s) => passkeyRepo.takeChallenge(s, a.challengeId)],
  ['passkey.deletePasskeysOfUser', (s) => passkeyRepo.deletePasskeysOfUser(s, a.userId)],
  ['consent.deleteConsentGrants', (s) => consentRepo.deleteConsentGrants(s, ['iso-consent']).then(() => 0)],
  [
    'session.insertUiSession',
    (s) =>
      sessionRepo.insertUiSession(s, {
        id_hash: 'iso-ui-session',
        app: 'console',
        user_id: a.userId,
        csrf_secret: 'x',
        provider_sid: null,
        id_token_enc: null,
        expires_at: new Date(),
      }),
  ],
  [
    'session.upsertSignInDevice',
    (s) => sessionRepo.upsertSignInDevice(s, { session_uid: 'iso-device', user_id: a.userId, user_agent: null, at: new Date() }).then(() => 0),
  ],
  ['session.touchUiSession', (s) => sessionRepo.touchUiSession(s, 'iso-ui-session', new Date()).then(() => 0)],
  ['session.updateUiSessionData', (s) => sessionRepo.updateUiSessionData(s, 'iso-ui-session', { hijacked: true }).then(() => 0)],
  ['session.deleteUiSessionsOfProviderSessions', (s) => sessionRepo.deleteUiSessionsOfProviderSessions(s, a.userId, ['x'])],
  ['session.deleteUiSession', (s) => sessionRepo.deleteUiSession(s, 'iso-ui-session')],
  [
    'session.deleteSignInSession',
    (s) =>
      sessionRepo
        .deleteSignInSession(s, { id: 'iso-session', loginAt: null, expiresAt: null, amr: [], apps: [{ clientId: a.clientId, grantId: 'iso-consent' }] })
        .then(() => 0),
  ],
  ['passkey.deletePasskeyRow', (s) => passkeyRepo.deletePasskeyRow(s, a.userId, a.passkeyId)],
  [
    'signingKey.insertSigningKey',
    (s) => signingKeyRepo.insertSigningKey(s, { kid: a.kid, alg: 'RS256', state: 'active', public_jwk: '{}', private_jwk_enc: 'x' }),
  ],
  ['signingKey.retireSigningKey', (s) => signingKeyRepo.retireSigningKey(s, a.kid, new Date(), new Date())],
  ['signingKey.activateSigningKey', (s) => signingKeyRepo.activateSigningKey(s, a.kid)],
  ['signingKey.deleteSigningKey', (s) => signingKeyRepo.deleteSigningKey(s, a.kid)],
  ['idp.insertIdpLink', (s) => idpRepo.insertIdpLink(s, { idp_id: a.idpId, external_user_id: 'intruder', user_id: a.userId, external_username: null })],
  ['idp.deleteIdpLink', (s) => idpRepo.deleteIdpLink(s, a.idpId, 'ext-a')],
  [
    'policy.replaceLabelAsset',
    (s) => policyRepo.replaceLabelAsset(s, { org_id: a.orgId, kind: 'logo_light', content_type: 'image/png', data: Buffer.from('x') }),
  ],
  ['policy.deleteLabelAsset', (s) => policyRepo.deleteLabelAsset(s, a.orgId, 'logo_light')],
  ['user.insertMachineKey', (s) => userRepo.insertMachineKey(s, { id: 'iso-key', user_id: a.machineId, public_jwk: '{}', expires_at: null })],
  ['user.deleteMachineKey', (s) => userRepo.deleteMachineKey(s, a.machineId, a.keyId)],
  [
    'user.insertPersonalAccessToken',
    (s) => userRepo.insertPersonalAccessToken(s, { id: 'iso-pat', user_id: a.machineId, token_hash: 'x', scopes: [], expires_at: null }),
  ],
  ['user.deletePersonalAccessToken', (s) => userRepo.deletePersonalAccessToken(s, a.machineId, a.pat.id)],
  ['user.putUserMetadata', (s) => userRepo.putUserMetadata(s, a.userId, 'k', 'hijacked')],
  ['user.deleteUserMetadata', (s) => userRepo.deleteUserMetadata(s, a.userId, 'k')],
  ['instance.clearPrimaryInstanceDomain', (s) => instanceRepo.clearPrimaryInstanceDomain(s).then(() => 0)],
  ['instance.makePrimaryInstanceDomain', (s) => instanceRepo.makePrimaryInstanceDomain(s, a.domain).then(() => 0)],
  ['instance.setDefaultOrg', (s) => instanceRepo.setDefaultOrg(s, a.orgId).then(() => 0)],
  ['user.countFailedPasswordAttempt', (s) => userRepo.countFailedPasswordAttempt(s, a.userId)],
  ['user.resetFailedPasswordAttempts', (s) => userRepo.resetFailedPasswordAttempts(s, a.userId)],
  [
    'user.replaceUserCode',
    (s) => userCodeRepo.replaceUserCode(s, { user_id: a.userId, kind: 'password_reset', code_hash: 'x', email: null, expires_at: new Date() }),
  ],
  ['user.setUserCodeAttempts', (s) => userCodeRepo.setUserCodeAttempts(s, a.userId, 'password_reset', 99)],
  ['user.deleteUserCode', (s) => userCodeRepo.deleteUserCode(s, a.userId, 'password_reset')],
  ['user.deleteUserRow', (s) => userRepo.deleteUserRow(s, a.userId)],
  ['org.deleteOrgRow', (s) => orgRepo.deleteOrgRow(s, a.orgId)],
  // Last: it removes instance B itself.
  ['instance.deleteInstanceRow', (s) => instanceRepo.deleteInstanceRow(s).then(() => 0)],
];

/** Exported functions of repository modules that take no Scope, and why they need no row above. */
const exempt: Record<string, string> = {
  'instance.findInstanceIdByDomain': 'takes the bare knex on purpose: it is how a request finds its instance',
  'instance.listInstanceIds': "takes the bare knex on purpose: the installation's list of instances",
  'instance.insertInstance': 'takes the bare knex on purpose: it creates the instance a Scope would name',
  'instance.findInstanceIdsByDomains': "takes the bare knex on purpose: which instance a configuration file's domains name",
  'instance.instanceExists': 'takes the bare knex on purpose: whether the instance a configuration file names exists',
  'org.orgSlug': 'pure: turns a name into a domain label, no database',
  'user.loginNamesFrom': 'pure: puts login names together from rows already read, no database',
  'mfa.secondFactorColumns':
    "builds subqueries for a caller's statement and runs none: covered by user.resolveLoginName (second factors) and mfa.secondFactorsOf",
  'mfa.secondFactorsFrom': 'pure: reads two columns of a row already read, no database',
  'session.sweepUiSessions': 'takes the bare knex on purpose: drops expired sessions of every instance',
  'instance.instanceServingDomain': 'looks past the instance on purpose: an instance domain is unique in the installation',
  'notify.claimDueOutboxRows': "takes the bare knex on purpose: the sender claims every instance's due mails, then sends each under its instance's Scope",
};

type Lock = [name: string, lock: (s: Scope) => Promise<void>, table: string, id: () => string];

/**
 * Each row lock, taken in a transaction with A's Scope, holds A's row (so the check is not
 * vacuous); with B's Scope and A's ids, it holds nothing of A: another connection can still lock
 * the row at once (NOWAIT).
 */
const locks: Lock[] = [
  ['domain.shareLockProjectOf', (s) => versionRepo.shareLockProjectOf(s, 'applications', a.appId), 'projects', () => a.projectId],
  ['domain.shareLockGrantOfUserGrant', (s) => versionRepo.shareLockGrantOfUserGrant(s, a.userGrantUnderGrantId), 'project_grants', () => a.grantId],
];

/** `user-grant/repository.ts` → 'userGrant'; `oidc/repository.ts` → 'oidc'. */
const moduleKey = (file: string) => path.basename(path.dirname(file)).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());

function repositoryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return repositoryFiles(p);
    return e.name === 'repository.ts' || e.name.endsWith('-repository.ts') ? [p] : [];
  });
}

test('every exported function of every repository is in the matrix below or exempted with a reason', async () => {
  const files = repositoryFiles(path.resolve('src'));
  expect(files.length).toBeGreaterThan(10);
  const covered = new Set([...reads, ...writes, ...locks].map(([name]) => name.replace(/ \(.*\)$/, '')));
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const mod: Record<string, unknown> = await import(path.relative(path.dirname(new URL(import.meta.url).pathname), file).replace(/\.ts$/, '.js'));
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      const key = `${moduleKey(file)}.${name}`;
      seen.add(key);
      if (!covered.has(key) && !exempt[key]) missing.push(key);
    }
  }
  expect(missing).toEqual([]);
  // An exemption must name a function that exists, so the list cannot rot.
  expect(Object.keys(exempt).filter((k) => !seen.has(k))).toEqual([]);
});

describe("reads with another instance's Scope find nothing", () => {
  // A rest parameter, because jest reads a third declared parameter as a `done` callback.
  test.each(reads)('%s', async (...[, call, ownInstance]: Read) => {
    expect(isEmpty(await call(A.scope))).toBe(false); // A's own Scope finds the row, so the check below means something
    const foreign = await call(B.scope);
    expect(mentionsA(foreign)).toBe(false);
    if (!ownInstance) expect(isEmpty(foreign)).toBe(true);
  });
});

describe("row locks with another instance's Scope hold nothing of it", () => {
  /** Whether another connection finds the row locked while `lock` holds its transaction open. */
  async function holds(scope: Scope, lock: Lock[1], table: string, id: string): Promise<boolean> {
    return scope.transaction(async (t) => {
      await lock(t);
      try {
        await rt.db.knex.raw(`SELECT 1 FROM ${table} WHERE instance_id = ? AND id = ? FOR UPDATE NOWAIT`, [A.instanceId, id]);
        return false;
      } catch (err) {
        expect((err as { code?: string }).code).toBe('55P03'); // lock_not_available
        return true;
      }
    });
  }
  test.each(locks)('%s', async (...[, lock, table, id]: Lock) => {
    expect(await holds(A.scope, lock, table, id())).toBe(true);
    expect(await holds(B.scope, lock, table, id())).toBe(false);
  });
});

describe("writes with another instance's Scope change nothing of it", () => {
  test.each(writes)('%s', async (_name, call) => {
    const before = await fingerprint(A.instanceId);
    let result: unknown;
    try {
      result = await call(B.scope);
    } catch (err) {
      // The composite foreign keys refuse a row of B pointing at A's rows (23503); an
      // installation-wide key such as an instance domain refuses a duplicate (23505).
      expect(['23503', '23505']).toContain((err as { code?: string }).code);
      result = 0;
    }
    expect(isEmpty(result)).toBe(true);
    expect(await fingerprint(A.instanceId)).toEqual(before);
  });
});
