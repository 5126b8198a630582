import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import type { TestInstance } from '../support/runtime.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { createMachineUser, addPersonalAccessToken } from '../../src/domain/user/service.js';
import { insertMembership, type MembershipLevel } from '../../src/domain/membership/repository.js';
import { newId } from '../../src/shared/ids.js';
import { API_SCOPE } from '../../src/api/oidc-tokens.js';

/** Helpers for the API tests: a real server on an ephemeral port, requests by Host, machine callers with PATs. */

export interface Served {
  port: number;
  close(): Promise<void>;
}

export async function serve(rt: Runtime): Promise<Served> {
  const app = createApp(rt);
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await app.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  text: string;
}

export function request(
  port: number,
  host: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = opts.form ? new URLSearchParams(opts.form).toString() : opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          host,
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload
            ? { 'content-type': opts.form ? 'application/x-www-form-urlencoded' : 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not json */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A client bound to one instance's host and one caller's token. */
export function client(port: number, host: string, token?: string, headers: Record<string, string> = {}) {
  const call =
    (method: string) =>
    (path: string, body?: unknown, extra: Record<string, string> = {}) =>
      request(port, host, method, path, { token, body, headers: { ...headers, ...extra } });
  return { get: call('GET'), post: call('POST'), put: call('PUT'), patch: call('PATCH'), delete: call('DELETE') };
}

export function systemCtx(inst: TestInstance, rt: Runtime): ServiceContext {
  return { deps: rt.deps, scope: inst.scope, actor: systemPrincipal };
}

export interface Caller {
  userId: string;
  token: string;
  orgId: string;
}

/**
 * A machine user with a personal access token and the given memberships. Memberships are
 * created by the system actor (a fixture, not a privilege the caller had to earn).
 */
export async function machineCaller(
  rt: Runtime,
  inst: TestInstance,
  orgId: string,
  memberships: { level: MembershipLevel; roles: string[]; orgId?: string; projectId?: string; projectGrantId?: string }[] = [],
): Promise<Caller> {
  const ctx = systemCtx(inst, rt);
  const { id: userId } = await createMachineUser(ctx, { orgId, username: `bot-${newId()}`, name: 'API test caller' });
  for (const m of memberships) {
    await insertMembership(inst.scope, {
      user_id: userId,
      level: m.level,
      roles: m.roles,
      org_id: m.level === 'org' ? (m.orgId ?? orgId) : m.level === 'instance' ? null : (m.orgId ?? null),
      project_id: m.projectId ?? null,
      project_grant_id: m.projectGrantId ?? null,
    });
  }
  const { token } = await addPersonalAccessToken(ctx, userId);
  return { userId, token, orgId };
}

/** A client_credentials token for a machine user, from the instance's token endpoint. */
export async function machineToken(port: number, host: string, clientId: string, secret: string, scope = `openid ${API_SCOPE}`): Promise<Reply> {
  const discovery = await request(port, host, 'GET', '/.well-known/openid-configuration');
  const tokenPath = new URL(discovery.body.token_endpoint).pathname;
  return request(port, host, 'POST', tokenPath, {
    form: { grant_type: 'client_credentials', scope },
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` },
  });
}
