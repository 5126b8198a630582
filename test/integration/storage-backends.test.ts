import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime, type Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { TEST_MASTER_KEY } from '../support/env.js';
import { client, machineCaller, serve, type Served } from './api-client.js';

/**
 * What is stored comes back the same from PostgreSQL and from embedded PGlite: the same tests run
 * against both. Binary columns (uploaded logos, icons and fonts) are where the two drivers differ.
 */
const backends: [string, () => Promise<{ rt: Runtime; cleanup: () => void }>][] = [
  ['PostgreSQL', async () => ({ rt: await testRuntime(), cleanup: () => undefined })],
  [
    'embedded PGlite',
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-storage-'));
      const config = loadConfig(
        {},
        {
          database: { url: '' },
          redis: { url: '' },
          dataDir,
          masterKey: TEST_MASTER_KEY,
          log: { level: 'silent' },
          passwordHashing: { memoryCost: 8192, timeCost: 1, parallelism: 1 },
        },
      );
      return { rt: await createRuntime(config), cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
];

/** Every byte value, behind a PNG signature: whatever a driver mangles shows. */
const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('{"0":137}')]);
const font = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 37) % 256));

describe.each(backends)('on %s', (_name, open) => {
  let rt: Runtime;
  let cleanup: () => void;
  let srv: Served;
  let inst: TestInstance;
  let token: string;
  beforeAll(async () => {
    ({ rt, cleanup } = await open());
    srv = await serve(rt);
    inst = await testInstance(rt, 'Storage');
    token = (await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }])).token;
  }, 120_000);
  afterAll(async () => {
    await srv.close();
    await rt.close();
    cleanup();
  });

  const upload = (apiPath: string, contentType: string, data: Buffer) =>
    rawRequest('PUT', apiPath, { 'content-type': contentType, 'content-length': String(data.length) }, data);
  function rawRequest(method: string, p: string, headers: Record<string, string> = {}, body?: Buffer) {
    return new Promise<{ status: number; type?: string; data: Buffer }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: srv.port, method, path: p, headers: { host: inst.domain, authorization: `Bearer ${token}`, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], data: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  test('an uploaded logo is served byte for byte, with its content type', async () => {
    const put = await upload('/admin/v1/policies/label/assets/logo_light', 'image/png', png);
    expect(put.status).toBe(200);
    const view = JSON.parse(put.data.toString('utf8'));
    expect(view).toMatchObject({ kind: 'logo_light', contentType: 'image/png', bytes: png.length });
    expect((await client(srv.port, inst.domain, token).get('/admin/v1/policies/label/assets')).body.result).toEqual([
      expect.objectContaining({ kind: 'logo_light', bytes: png.length }),
    ]);
    const served = await rawRequest('GET', view.url);
    expect(served).toMatchObject({ status: 200, type: 'image/png' });
    expect(served.data.equals(png)).toBe(true);
  });

  test('a font and a replaced logo round-trip too', async () => {
    const put = await upload('/admin/v1/policies/label/assets/font', 'font/woff2', font);
    expect(put.status).toBe(200);
    const served = await rawRequest('GET', JSON.parse(put.data.toString('utf8')).url);
    expect(served.type).toBe('font/woff2');
    expect(served.data.equals(font)).toBe(true);
    const second = Buffer.concat([png, png]);
    const replaced = await upload('/admin/v1/policies/label/assets/logo_light', 'image/png', second);
    expect((await rawRequest('GET', JSON.parse(replaced.data.toString('utf8')).url)).data.equals(second)).toBe(true);
  });
});
