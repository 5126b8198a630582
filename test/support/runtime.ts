import { loadConfig } from '../../src/config/load.js';
import { createRuntime, type Runtime } from '../../src/runtime/index.js';
import { createInstance, type CreatedInstance } from '../../src/domain/instance/service.js';
import { Scope } from '../../src/db/scope.js';
import { newId } from '../../src/shared/ids.js';
import { TEST_DATABASE_URL, TEST_MASTER_KEY, TEST_REDIS_URL } from './env.js';

/** A runtime on the real test PostgreSQL and Redis. Argon2 is cheaper here only to keep the suite fast. */
export async function testRuntime(overrides: Record<string, unknown> = {}): Promise<Runtime> {
  const config = loadConfig(
    {},
    {
      database: { url: TEST_DATABASE_URL },
      redis: { url: TEST_REDIS_URL },
      masterKey: TEST_MASTER_KEY,
      log: { level: 'silent' },
      passwordHashing: { memoryCost: 8192, timeCost: 1, parallelism: 1 },
      // Every peer of the suite (upstream IdPs, smtp-server, SMS webhooks) listens on 127.0.0.1.
      outbound: { allowPrivateNetworks: true },
      ...overrides,
    },
  );
  return createRuntime(config, { migrate: false });
}

export interface TestInstance extends CreatedInstance {
  domain: string;
  scope: Scope;
  adminPassword: string;
}

/**
 * A fresh instance on its own domain: tests never share rows with each other. Browsers treat
 * http://*.localhost as a secure context (WebAuthn needs one), *.test not: passkey tests take `localhost`.
 */
export async function testInstance(rt: Runtime, name = 'Test', opts: { tld?: 'test' | 'localhost' } = {}): Promise<TestInstance> {
  const domain = `i${newId()}.${opts.tld ?? 'test'}`;
  const adminPassword = 'Admin-Passw0rd!';
  const created = await createInstance(rt.db.knex, rt.deps, {
    name,
    domains: [domain],
    orgName: `${name} Org`,
    admin: { username: 'admin', email: `admin@${domain}`, password: adminPassword },
  });
  return { ...created, domain, adminPassword, scope: new Scope(rt.db.knex, created.instanceId) };
}
