import {
  audienceProjects,
  buildClaims,
  machineTokenClaims,
  requestedOrg,
  roleClaim,
  rolesRequested,
  ROLES_CLAIM,
  type ClaimsInput,
} from '../../src/oidc/claims.js';

const beta = { orgId: 'beta', orgPrimaryDomain: 'beta.example.com' };
const alpha = { orgId: 'alpha', orgPrimaryDomain: 'alpha.example.com' };
const grants = [
  { projectId: 'tt', ...beta, roleKeys: ['Accountant', 'Developer'] },
  { projectId: 'tt', ...alpha, roleKeys: ['Developer'] },
  { projectId: 'portal', ...beta, roleKeys: ['reader'] },
];

const base: ClaimsInput = {
  use: 'userinfo',
  scopes: ['openid'],
  user: {
    id: 'u1',
    username: 'alice',
    type: 'human',
    email: 'alice@alpha.example.com',
    emailVerified: true,
    phone: '+41 79 000 00 00',
    phoneVerified: false,
    givenName: 'Alice',
    familyName: 'Alpha',
  },
  org: { id: 'alpha', name: 'Alpha', primaryDomain: 'alpha.example.com' },
  project: { id: 'tt', projectRoleAssertion: false },
  app: { idTokenRoleAssertion: false, idTokenUserinfoAssertion: false, accessTokenRoleAssertion: false },
  grants,
  withAccessToken: true,
};
const claims = (patch: Partial<ClaimsInput>) => buildClaims({ ...base, ...patch });

describe('roleClaim', () => {
  test.each([
    [
      'all roles, one entry per giving org',
      [],
      { Accountant: { beta: 'beta.example.com' }, Developer: { beta: 'beta.example.com', alpha: 'alpha.example.com' } },
    ],
    [
      'a role scope keeps only that role',
      ['urn:zitadel:iam:org:project:role:Developer'],
      { Developer: { beta: 'beta.example.com', alpha: 'alpha.example.com' } },
    ],
    ['an org filter keeps only that giving org', ['urn:zitadel:iam:org:roles:id:alpha'], { Developer: { alpha: 'alpha.example.com' } }],
    ['both filters together', ['urn:zitadel:iam:org:project:role:Accountant', 'urn:zitadel:iam:org:roles:id:alpha'], {}],
  ])('%s', (_name, scopes, expected) => {
    expect(roleClaim(grants, 'tt', scopes as string[])).toEqual(expected);
  });

  test('grants on other projects never leak in', () => {
    expect(roleClaim(grants, 'portal', [])).toEqual({ reader: { beta: 'beta.example.com' } });
    expect(roleClaim(grants, 'other', [])).toEqual({});
  });
});

describe('scope parsing', () => {
  test.each([
    [['openid'], false, false],
    [['openid'], true, true],
    [['urn:zitadel:iam:org:projects:roles'], false, true],
    [['urn:zitadel:iam:org:project:role:x'], false, true],
    [['urn:zitadel:iam:org:roles:id:alpha'], false, false],
  ])('rolesRequested(%j, assertion=%s) = %s', (scopes, assertion, expected) => {
    expect(rolesRequested(scopes, assertion)).toBe(expected);
  });

  test('audience: the client project plus every :aud scope, once', () => {
    expect(audienceProjects(['urn:zitadel:iam:org:project:id:p2:aud', 'urn:zitadel:iam:org:project:id:tt:aud'], 'tt')).toEqual(['tt', 'p2']);
    expect(audienceProjects(['openid'])).toEqual([]);
  });

  test('requested org by id or primary domain', () => {
    expect(requestedOrg(['openid', 'urn:zitadel:iam:org:id:42'])).toEqual({ id: '42' });
    expect(requestedOrg(['urn:zitadel:iam:org:domain:primary:acme.com'])).toEqual({ domain: 'acme.com' });
    expect(requestedOrg(['openid'])).toBeUndefined();
  });
});

describe('buildClaims', () => {
  test.each<[string, Partial<ClaimsInput>, Record<string, unknown>]>([
    ['openid alone: only sub', {}, { sub: 'u1' }],
    [
      'profile: names and preferred_username = username@org primary domain',
      { scopes: ['openid', 'profile'] },
      { sub: 'u1', name: 'Alice Alpha', given_name: 'Alice', family_name: 'Alpha', preferred_username: 'alice@alpha.example.com' },
    ],
    ['email', { scopes: ['openid', 'email'] }, { sub: 'u1', email: 'alice@alpha.example.com', email_verified: true }],
    ['phone', { scopes: ['openid', 'phone'] }, { sub: 'u1', phone_number: '+41 79 000 00 00', phone_number_verified: false }],
    [
      'projectRoleAssertion adds roles without a role scope',
      { project: { id: 'tt', projectRoleAssertion: true }, scopes: ['openid', 'urn:zitadel:iam:org:project:role:Accountant'] },
      { sub: 'u1', [ROLES_CLAIM]: { Accountant: { beta: 'beta.example.com' } } },
    ],
    [
      'projects:roles adds one claim per audience project',
      { scopes: ['openid', 'urn:zitadel:iam:org:projects:roles', 'urn:zitadel:iam:org:project:id:portal:aud', 'urn:zitadel:iam:org:roles:id:beta'] },
      {
        sub: 'u1',
        [ROLES_CLAIM]: { Accountant: { beta: 'beta.example.com' }, Developer: { beta: 'beta.example.com' } },
        'urn:zitadel:iam:org:project:tt:roles': { Accountant: { beta: 'beta.example.com' }, Developer: { beta: 'beta.example.com' } },
        'urn:zitadel:iam:org:project:portal:roles': { reader: { beta: 'beta.example.com' } },
      },
    ],
    [
      'metadata values are base64url',
      { scopes: ['openid', 'urn:zitadel:iam:user:metadata'], metadata: { k: 'a/b+c?' } },
      { sub: 'u1', 'urn:zitadel:iam:user:metadata': { k: 'YS9iK2M_' } },
    ],
    [
      'resourceowner',
      { scopes: ['openid', 'urn:zitadel:iam:user:resourceowner'] },
      {
        sub: 'u1',
        'urn:zitadel:iam:user:resourceowner:id': 'alpha',
        'urn:zitadel:iam:user:resourceowner:name': 'Alpha',
        'urn:zitadel:iam:user:resourceowner:primary_domain': 'alpha.example.com',
      },
    ],
    [
      'an org scope echoes the org',
      { scopes: ['openid', 'urn:zitadel:iam:org:id:alpha'] },
      { sub: 'u1', 'urn:zitadel:iam:org:id': 'alpha', 'urn:zitadel:iam:org:name': 'Alpha', 'urn:zitadel:iam:org:domain:primary': 'alpha.example.com' },
    ],
    [
      'ID token with an access token: small by default',
      { use: 'id_token', scopes: ['openid', 'profile', 'urn:zitadel:iam:org:projects:roles'] },
      { sub: 'u1' },
    ],
    [
      'ID token with idTokenRoleAssertion: roles but no profile',
      { use: 'id_token', scopes: ['openid', 'profile', 'urn:zitadel:iam:org:project:role:Accountant'], app: { ...base.app!, idTokenRoleAssertion: true } },
      { sub: 'u1', [ROLES_CLAIM]: { Accountant: { beta: 'beta.example.com' } } },
    ],
    [
      'ID token with idTokenUserinfoAssertion: profile, no roles',
      { use: 'id_token', scopes: ['openid', 'email', 'urn:zitadel:iam:org:project:role:Accountant'], app: { ...base.app!, idTokenUserinfoAssertion: true } },
      { sub: 'u1', email: 'alice@alpha.example.com', email_verified: true },
    ],
    [
      'access token claims only with accessTokenRoleAssertion',
      { use: 'access_token', scopes: ['openid', 'urn:zitadel:iam:org:projects:roles'] },
      { sub: 'u1' },
    ],
    [
      'access token with accessTokenRoleAssertion',
      { use: 'access_token', scopes: ['openid', 'urn:zitadel:iam:org:project:role:Accountant'], app: { ...base.app!, accessTokenRoleAssertion: true } },
      { sub: 'u1', [ROLES_CLAIM]: { Accountant: { beta: 'beta.example.com' } } },
    ],
    ['no grants: no roles claim at all', { grants: [], scopes: ['openid', 'urn:zitadel:iam:org:projects:roles'] }, { sub: 'u1' }],
  ])('%s', (_name, patch, expected) => {
    expect(claims(patch)).toEqual(expected);
  });
});

describe('machineTokenClaims', () => {
  test('roles of every audience project, merged', () => {
    expect(
      machineTokenClaims(grants, ['urn:zitadel:iam:org:project:id:tt:aud', 'urn:zitadel:iam:org:project:id:portal:aud', 'urn:zitadel:iam:org:roles:id:beta']),
    ).toEqual({
      [ROLES_CLAIM]: { Accountant: { beta: 'beta.example.com' }, Developer: { beta: 'beta.example.com' }, reader: { beta: 'beta.example.com' } },
    });
    expect(machineTokenClaims(grants, [])).toEqual({});
  });
});
