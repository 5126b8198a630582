import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { addOrgDomain, createOrg, deactivateOrg } from '../../src/domain/org/service.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { createProject } from '../../src/domain/project/service.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { completeLoginName, decideOrgContext, loginNameDomain, resolveOrgContext, UnknownOrgError, userFitsContext } from '../../src/login/org-context.js';
import { displayLoginName, labelCss, loadBranding } from '../../src/ui/branding.js';
import { putLabelAsset, getLabelAsset, setLabelAsset, removeLabelAsset } from '../../src/domain/policy/label-assets.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import { catalogueFiles, parseAcceptLanguage, pickLocale, translator } from '../../src/ui/i18n.js';
import { newId } from '../../src/shared/ids.js';

describe('which org applies (pure)', () => {
  const base = { defaultOrgId: 'default' };
  test('a reserved org scope wins over everything and restricts who may finish', () => {
    const c = decideOrgContext({
      ...base,
      scopeOrgId: 'o1',
      project: { orgId: 'p', privateLabeling: 'enforce_project_resource_owner_policy' },
      discoveredOrgId: 'd',
      userOrgId: 'u',
    });
    expect(c).toEqual({ orgId: 'o1', source: 'scope', enforced: true, registrationOrgId: 'o1' });
    expect(userFitsContext(c, { org_id: 'o1' })).toBe(true);
    expect(userFitsContext(c, { org_id: 'u' })).toBe(false);
  });
  test('an org scope naming no org is an error', () => {
    expect(() => decideOrgContext({ ...base, scopeOrgId: 'unknown' })).toThrow(UnknownOrgError);
  });
  test('the project setting comes next; "allow login user" gives way once the user is known', () => {
    expect(decideOrgContext({ ...base, project: { orgId: 'p', privateLabeling: 'enforce_project_resource_owner_policy' }, userOrgId: 'u' })).toMatchObject({
      orgId: 'p',
      source: 'project',
      enforced: false,
    });
    expect(decideOrgContext({ ...base, project: { orgId: 'p', privateLabeling: 'allow_login_user_resource_owner_policy' } })).toMatchObject({
      orgId: 'p',
      source: 'project',
    });
    expect(decideOrgContext({ ...base, project: { orgId: 'p', privateLabeling: 'allow_login_user_resource_owner_policy' }, userOrgId: 'u' })).toMatchObject({
      orgId: 'u',
      source: 'user',
    });
    expect(decideOrgContext({ ...base, project: { orgId: 'p', privateLabeling: 'unspecified' } })).toMatchObject({ orgId: null, source: 'instance' });
  });
  test('then discovery (which also decides where registration goes), then the user, then the instance', () => {
    expect(decideOrgContext({ ...base, discoveredOrgId: 'd' })).toEqual({ orgId: 'd', source: 'discovery', enforced: false, registrationOrgId: 'd' });
    expect(decideOrgContext({ ...base, userOrgId: 'u' })).toEqual({ orgId: 'u', source: 'user', enforced: false, registrationOrgId: 'default' });
    expect(decideOrgContext(base)).toEqual({ orgId: null, source: 'instance', enforced: false, registrationOrgId: 'default' });
  });
  test('the domain of a login name is what follows the last @', () => {
    expect(loginNameDomain('a@b@Example.COM')).toBe('example.com');
    expect(loginNameDomain('plain')).toBeUndefined();
    expect(loginNameDomain('trailing@')).toBeUndefined();
  });
});

describe('branding and language (pure)', () => {
  test('the label policy becomes CSS custom properties for light and dark', () => {
    const css = labelCss({ ...builtInDefault('label'), primaryColor: '#112233', primaryColorDark: '#445566', fontFamily: 'Inter"; } body { x: url(evil)' });
    expect(css).toMatch(/:root \{[^}]*--color-primary: #112233;/);
    expect(css).toMatch(/prefers-color-scheme: dark\) \{\n:root \{[^}]*--color-primary: #445566;/);
    expect(css).toContain("--font-family: 'Inter  body  x urlevil', system-ui");
    expect(css).not.toContain('url(evil)');
  });
  test('hideLoginNameSuffix shows the username without its domain', () => {
    expect(displayLoginName('ada@acme.example', { hideLoginNameSuffix: true })).toBe('ada');
    expect(displayLoginName('ada@acme.example', { hideLoginNameSuffix: false })).toBe('ada@acme.example');
  });
  test('ui_locales first, then Accept-Language by weight, then the preferred language, else English', () => {
    expect(pickLocale({ uiLocales: 'fr de', acceptLanguage: 'en' })).toBe('de');
    expect(pickLocale({ acceptLanguage: 'fr;q=0.9, de-CH;q=0.8, en;q=0.1' })).toBe('de');
    expect(pickLocale({ acceptLanguage: 'fr', preferred: 'de' })).toBe('de');
    expect(pickLocale({ acceptLanguage: 'fr, ja' })).toBe('en');
    expect(parseAcceptLanguage('en;q=0.5, de')).toEqual(['de', 'en']);
    expect(translator('de')('login.continueWith', { name: 'Azure' })).toBe('Weiter mit Azure');
    expect(translator('de')('no.such.key')).toBe('no.such.key');
  });
  test('a numeric count picks the plural form of the language', () => {
    expect(translator('en')('console.branding.uploaded', { count: 1 })).toBe('1 file uploaded.');
    expect(translator('en')('console.branding.uploaded', { count: 3 })).toBe('3 files uploaded.');
    expect(translator('de')('console.branding.uploaded', { count: 1 })).toBe('1 Datei hochgeladen.');
    expect(translator('de')('console.branding.uploaded', { count: 2 })).toBe('2 Dateien hochgeladen.');
  });
  test('the German catalogue has every English key, area file by area file', () => {
    const keys = (l: 'en' | 'de') => [...catalogueFiles(l)].map(([file, messages]) => [file, Object.keys(messages).sort()]);
    expect(keys('en').length).toBeGreaterThan(0);
    expect(keys('de')).toEqual(keys('en'));
  });
});

describe('resolving the org of a login (database)', () => {
  let rt: Runtime;
  let inst: TestInstance;
  const sys = (): ServiceContext => ({ deps: rt.deps, scope: inst.scope, actor: systemPrincipal });
  beforeAll(async () => {
    rt = await testRuntime();
    inst = await testInstance(rt, 'Ctx');
  });
  afterAll(async () => {
    await rt.close();
  });

  async function orgWithDomain(domain: string, login?: object) {
    const org = await createOrg(sys(), { name: `Org ${newId()}` });
    await addOrgDomain(sys(), org.id, domain, { verified: true });
    if (login) await setOrgPolicy(sys(), org.id, 'login', login);
    return org.id;
  }

  test('reserved scopes by id and by primary domain; an unknown or inactive org is an error', async () => {
    const orgId = await orgWithDomain(`scope-${newId()}.example`);
    const primary = (await inst.scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first()).domain;
    expect(await resolveOrgContext(inst.scope, { scopes: ['openid', `urn:zitadel:iam:org:id:${orgId}`] })).toMatchObject({
      orgId,
      source: 'scope',
      enforced: true,
    });
    expect(await resolveOrgContext(inst.scope, { scopes: [`urn:zitadel:iam:org:domain:primary:${primary}`] })).toMatchObject({ orgId, source: 'scope' });
    await expect(resolveOrgContext(inst.scope, { scopes: ['urn:zitadel:iam:org:id:999'] })).rejects.toBeInstanceOf(UnknownOrgError);
    const gone = await orgWithDomain(`gone-${newId()}.example`);
    await deactivateOrg(sys(), gone);
    await expect(resolveOrgContext(inst.scope, { scopes: [`urn:zitadel:iam:org:id:${gone}`] })).rejects.toBeInstanceOf(UnknownOrgError);
  });

  test('domain discovery needs a verified domain and an org policy allowing it', async () => {
    const d1 = `disc-${newId()}.example`;
    const d2 = `nodisc-${newId()}.example`;
    const yes = await orgWithDomain(d1);
    await orgWithDomain(d2, { allowDomainDiscovery: false });
    expect(await resolveOrgContext(inst.scope, { scopes: [], unmatchedLoginName: `someone@${d1.toUpperCase()}` })).toMatchObject({
      orgId: yes,
      source: 'discovery',
      registrationOrgId: yes,
    });
    expect(await resolveOrgContext(inst.scope, { scopes: [], unmatchedLoginName: `someone@${d2}` })).toMatchObject({
      orgId: null,
      source: 'instance',
      registrationOrgId: inst.orgId,
    });
    expect(await resolveOrgContext(inst.scope, { scopes: [], unmatchedLoginName: 'someone@unverified.example' })).toMatchObject({ source: 'instance' });
  });

  test("the project's private labeling setting applies to its applications", async () => {
    const owner = await orgWithDomain(`owner-${newId()}.example`);
    const project = await createProject(sys(), { orgId: owner, name: 'Branded', privateLabelingSetting: 'enforce_project_resource_owner_policy' });
    const app = await createApplication(sys(), project.id, { name: 'web', appType: 'web', authMethod: 'none', redirectUris: ['https://app.example/cb'] });
    const userOrg = await orgWithDomain(`user-${newId()}.example`);
    expect(await resolveOrgContext(inst.scope, { scopes: [], clientId: app.clientId, userOrgId: userOrg })).toMatchObject({ orgId: owner, source: 'project' });
    expect(await resolveOrgContext(inst.scope, { scopes: [], clientId: 'no-such-client', userOrgId: userOrg })).toMatchObject({
      orgId: userOrg,
      source: 'user',
    });
  });

  test('with userLoginMustBeDomain a bare username under an org scope is completed with the org domain', async () => {
    const orgId = await orgWithDomain(`complete-${newId()}.example`);
    const primary = (await inst.scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first()).domain;
    const ctx = await resolveOrgContext(inst.scope, { scopes: [`urn:zitadel:iam:org:id:${orgId}`] });
    expect(await completeLoginName(inst.scope, ctx, 'ada')).toBe(`ada@${primary}`);
    expect(await completeLoginName(inst.scope, ctx, 'ada@elsewhere.example')).toBe('ada@elsewhere.example');
    await setOrgPolicy(sys(), orgId, 'domain', { userLoginMustBeDomain: false });
    expect(await completeLoginName(inst.scope, ctx, 'ada')).toBe('ada');
    expect(await completeLoginName(inst.scope, await resolveOrgContext(inst.scope, { scopes: [] }), 'ada')).toBe('ada');
  });

  test("branding: the org's label policy and assets, falling back to the instance's", async () => {
    const orgId = await orgWithDomain(`brand-${newId()}.example`);
    await setOrgPolicy(sys(), orgId, 'label', { primaryColor: '#00aa00', hideLoginNameSuffix: true });
    await putLabelAsset(inst.scope, null, 'logo_light', 'image/png', Buffer.from('instance-logo'));
    await putLabelAsset(inst.scope, orgId, 'icon_light', 'image/svg+xml', Buffer.from('<svg/>'));
    const b = await loadBranding(inst.scope, orgId);
    expect(b.label).toMatchObject({ primaryColor: '#00aa00', hideLoginNameSuffix: true });
    expect(b.assets.logo_light).toMatch(/^\/ui\/login\/branding\/instance\/logo_light\?v=\d+$/);
    expect(b.assets.icon_light).toMatch(new RegExp(`^/ui/login/branding/${orgId}/icon_light\\?v=\\d+$`));
    expect(b.themeUrl).toContain(`/ui/login/branding/${orgId}/theme.css?v=`);
    const instanceBranding = await loadBranding(inst.scope, null);
    expect(instanceBranding.label.primaryColor).toBe('#5469d4');
    expect(instanceBranding.assets.icon_light).toBeUndefined();
    expect((await getLabelAsset(inst.scope, orgId, 'icon_light'))?.data.toString()).toBe('<svg/>');
    await expect(putLabelAsset(inst.scope, orgId, 'logo_light', 'text/html', Buffer.from('<script>'))).rejects.toMatchObject({ code: 'invalid_input' });
  });

  test('uploading an asset needs policy.write on the org and is audited', async () => {
    const orgId = await orgWithDomain(`upload-${newId()}.example`);
    const stranger: ServiceContext = { deps: rt.deps, scope: inst.scope, actor: { type: 'user', userId: inst.adminUserId + '9', orgId } };
    await expect(setLabelAsset(stranger, orgId, 'logo_dark', 'image/png', Buffer.from('x'))).rejects.toMatchObject({ code: 'permission_denied' });
    await setLabelAsset(sys(), orgId, 'logo_dark', 'image/png', Buffer.from('png-bytes'));
    expect((await loadBranding(inst.scope, orgId)).assets.logo_dark).toContain(`/ui/login/branding/${orgId}/logo_dark`);
    expect(await listEvents(inst.scope, { orgId, type: 'org.label_asset.set' })).toHaveLength(1);
    await removeLabelAsset(sys(), orgId, 'logo_dark');
    expect((await loadBranding(inst.scope, orgId)).assets.logo_dark).toBeUndefined();
  });
});
