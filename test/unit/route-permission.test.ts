import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { z } from 'zod';
import { ApiGroup } from '../../src/api/route.js';
import { isAllowed } from '../../src/domain/authorization.js';
import type { Runtime } from '../../src/runtime/index.js';

/**
 * A route's `permission` is held to what its services consult: the route helper fails a call
 * whose services never asked about the declared permission, so the API document (x-permission)
 * cannot claim a check the code does not make.
 */
const group = new ApiGroup('/t', 'Test', 'systemKey', async () => ({ principal: { type: 'system' }, orgId: '' }));
group.route({
  method: 'get',
  path: '/checked',
  summary: 'consults its permission',
  permission: 'project.read',
  response: z.object({ ok: z.boolean() }),
  handler: async ({ call }) => ({ ok: await isAllowed(call.svc, 'project.read', {}) }),
});
group.route({
  method: 'get',
  path: '/one-of',
  summary: 'consults one of its permissions',
  permission: ['user.grant.write', 'user.read'],
  response: z.object({ ok: z.boolean() }),
  handler: async ({ call }) => ({ ok: await isAllowed(call.svc, 'user.read', {}) }),
});
group.route({
  method: 'get',
  path: '/unchecked',
  summary: 'declares a permission nothing consults',
  permission: 'project.read',
  response: z.object({ ok: z.boolean() }),
  handler: async ({ call }) => ({ ok: await isAllowed(call.svc, 'org.read', {}) }),
});

const rt = { db: { knex: {} }, deps: { config: {} }, log: { warn() {} } } as unknown as Runtime;
const app = new Koa();
app.silent = true;
app.use(group.middleware(rt));
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a route whose services consulted its declared permission answers', async () => {
  expect((await fetch(`${base}/t/checked`)).status).toBe(200);
  expect((await fetch(`${base}/t/one-of`)).status).toBe(200);
});

test('a route whose services never consulted its declared permission fails', async () => {
  expect((await fetch(`${base}/t/unchecked`)).status).toBe(500);
});

test('the document shows the declared permissions', () => {
  const paths = group.openApiPaths();
  expect(paths['/t/checked'].get['x-permission' as never]).toBe('project.read');
  expect(paths['/t/one-of'].get['x-permission' as never]).toBe('user.grant.write or user.read');
});
