import http from 'node:http';
import { newId } from '../../src/shared/ids.js';
import { addOrg, localRequest, type Browser, type HttpResponse } from '../support/rp.js';
import { consoleForm, consoleSignIn } from './console-support.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * The console's Branding area over HTTP: colours saved and served in the org's theme on its
 * login page (and the login policy editor's preview); a logo uploaded (multipart, as a browser
 * sends it) shows on the next login page and is served from the address the page names; a file
 * of the wrong type is refused on its field and nothing is stored.
 */
let w: LoginWorld;
let admin: Browser;
beforeAll(async () => {
  w = await loginWorld('Branding');
  ({ browser: admin } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword));
}, 120_000);
afterAll(() => w.close());

const db = () => w.rt.db.knex;

async function newOrg(): Promise<string> {
  const domain = `b${newId()}.example`;
  return addOrg(w.inst.scope, `Org ${domain}`, domain);
}

async function get(path: string): Promise<HttpResponse> {
  return (await admin.navigate(new URL(path, w.issuer))) as HttpResponse;
}

async function nextLoginPage(orgId: string): Promise<HttpResponse> {
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${orgId}`);
  expect(s.page.status).toBe(200);
  return s.page;
}

/** A real 1×1 PNG. */
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The upload form posted as multipart/form-data, with the session's cookie; the redirect followed. */
async function upload(page: HttpResponse, files: Record<string, { name: string; type: string; data: Buffer }>): Promise<HttpResponse> {
  const form = consoleForm(page, '/files');
  const boundary = `----tessera${newId()}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(form.fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const [name, f] of Object.entries(files)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${f.name}"\r\nContent-Type: ${f.type}\r\n\r\n`),
      f.data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const body = Buffer.concat(parts);
  const url = form.action;
  const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          host: url.host,
          cookie: admin.cookieHeader(url),
          accept: 'text/html',
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(body.length),
        },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (res.status >= 300 && res.status < 400 && res.headers.location) return get(new URL(res.headers.location, url).pathname);
  return { ...res, url };
}

test('colours saved in the console are the org login page’s theme, and the preview’s', async () => {
  const orgId = await newOrg();
  const page = await get(`/ui/console/orgs/${orgId}/branding`);
  const form = consoleForm(page, `/orgs/${orgId}/branding`);
  // The form as shown: the colours and the hidden fields (its two switches are off).
  delete form.fields.hideLoginNameSuffix;
  delete form.fields.disableWatermark;
  // Bad input first: the message on the field, the value kept, nothing saved.
  const bad = (await admin.navigate(form.action, { form: { ...form.fields, primaryColor: 'green' } })) as HttpResponse;
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-label-primaryColor"[^>]*aria-invalid="true"/);
  expect(bad.body).toContain('value="green"');
  expect(await db()('policies').where({ instance_id: w.inst.instanceId, org_id: orgId, kind: 'label' })).toHaveLength(0);

  const ok = (await admin.navigate(form.action, { form: { ...form.fields, primaryColor: '#0b7a3e', backgroundColorDark: '#101010' } })) as HttpResponse;
  expect(ok.status).toBe(200);
  expect(ok.body).toContain('The branding was saved.');
  const [row] = await db()('policies').where({ instance_id: w.inst.instanceId, org_id: orgId, kind: 'label' });
  expect(row.settings).toMatchObject({ primaryColor: '#0b7a3e', backgroundColorDark: '#101010' });

  for (const shown of [await nextLoginPage(orgId), await get(`/ui/console/orgs/${orgId}/policies/login/preview`)]) {
    const theme = /<link rel="stylesheet" href="([^"]*\/theme\.css[^"]*)">/.exec(shown.body)?.[1];
    expect(theme).toContain(`/ui/login/branding/${orgId}/theme.css`);
    const css = await localRequest(new URL(theme!.replace(/&amp;/g, '&'), w.issuer));
    expect(css.status).toBe(200);
    expect(css.body.toLowerCase()).toContain('#0b7a3e');
    expect(css.body.toLowerCase()).toContain('#101010');
  }
});

test('an uploaded logo shows on the next login page, served from where the page says', async () => {
  const orgId = await newOrg();
  const page = await get(`/ui/console/orgs/${orgId}/branding`);
  const res = await upload(page, { logo_light: { name: 'logo.png', type: 'image/png', data: png } });
  expect(res.status).toBe(200);
  expect(res.body).toContain('1 file uploaded.');
  expect(res.body).toMatch(/<img class="asset-preview" src="[^"]*\/logo_light[^"]*" alt="Logo \(light\)">/);

  const login = await nextLoginPage(orgId);
  const src = /<img class="logo" src="([^"]+)"/.exec(login.body)?.[1];
  expect(src).toContain(`/ui/login/branding/${orgId}/logo_light`);
  const served = await new Promise<{ status: number; type?: string; data: Buffer }>((resolve, reject) => {
    const url = new URL(src!.replace(/&amp;/g, '&'), w.issuer);
    http
      .get({ host: '127.0.0.1', port: url.port, path: url.pathname + url.search, headers: { host: url.host } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, type: r.headers['content-type'], data: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
  expect(served.status).toBe(200);
  expect(served.type).toBe('image/png');
  expect(served.data.equals(png)).toBe(true);
  // The login policy editor's preview shows it too.
  expect((await get(`/ui/console/orgs/${orgId}/policies/login/preview`)).body).toContain(`/ui/login/branding/${orgId}/logo_light`);
});

test('a file of the wrong type is refused on its field, and nothing is stored (not even a good file beside it)', async () => {
  const orgId = await newOrg();
  const page = await get(`/ui/console/orgs/${orgId}/branding`);
  const res = await upload(page, {
    logo_light: { name: 'logo.txt', type: 'text/plain', data: Buffer.from('not an image') },
    logo_dark: { name: 'dark.png', type: 'image/png', data: png },
  });
  expect(res.status).toBe(400);
  expect(res.body).toMatch(/id="f-file-logo_light"[^>]*aria-invalid="true"/);
  expect(res.body).toContain('This type of file is not allowed here.');
  expect(res.body).not.toMatch(/id="f-file-logo_dark"[^>]*aria-invalid="true"/);
  expect(await db()('label_assets').where({ instance_id: w.inst.instanceId, org_id: orgId })).toHaveLength(0);
  expect((await nextLoginPage(orgId)).body).not.toContain(`/ui/login/branding/${orgId}/logo`);
});
