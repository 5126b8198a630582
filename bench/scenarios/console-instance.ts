/**
 * What the console scenario adds for the instance administrator's pages: BENCH_CONSOLE_ORGS more
 * orgs in the instance (1,000; one in 10 inactive), an instance IdP, and `console-admin`, an
 * IAM_OWNER with bench-user's password in bench-user's org, who signs in with their email. Seeded
 * with SQL, the claims-cache triggers off for the seed's transaction only, as the org seed does.
 */
import { withDatabase } from '../harness.js';
import type { InstancePageIds } from '../../test/support/console-pages.js';

export const CONSOLE_ADMIN = 'console-admin';

export async function seedInstanceAdmin(
  instanceId: string,
  likeUsername: string,
  orgs: number,
): Promise<Required<Pick<InstancePageIds, 'membershipId' | 'idpId'>> & { loginName: string }> {
  return withDatabase(async (c) => {
    const q = async (sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows;
    const userId = '7900000000000000001';
    const membershipId = '7900000000000000002';
    const idpId = '7900000000000000003';
    const triggers = ['users', 'orgs'];
    await q('BEGIN');
    for (const t of triggers) await q(`ALTER TABLE ${t} DISABLE TRIGGER ${t}_claims_changed`);
    await q(
      `INSERT INTO orgs (instance_id, id, name, state, created_at)
       SELECT $1, '78' || lpad(g::text, 17, '0'), 'Tenant ' || lpad(g::text, 4, '0'),
              CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END, now() - (g || ' minutes')::interval
       FROM generate_series(1, $2::int) g`,
      [instanceId, orgs],
    );
    const [admin] = await q(
      `INSERT INTO users (instance_id, id, org_id, type, username, state, email, email_verified, given_name, family_name, display_name, password_hash, password_changed_at)
       SELECT instance_id, $2, org_id, 'human', $3, 'active', $3 || '@' || split_part(email, '@', 2), true, 'Console', 'Admin', 'Console Admin', password_hash, password_changed_at
       FROM users WHERE instance_id = $1 AND username = $4
       RETURNING email`,
      [instanceId, userId, CONSOLE_ADMIN, likeUsername],
    );
    await q(`INSERT INTO memberships (instance_id, id, user_id, level, roles) VALUES ($1, $2, $3, 'instance', '{IAM_OWNER}')`, [
      instanceId,
      membershipId,
      userId,
    ]);
    await q(
      `INSERT INTO idps (instance_id, id, org_id, name, issuer, client_id) VALUES ($1, $2, NULL, 'Instance OIDC', 'https://login.example.com', 'tessera')`,
      [instanceId, idpId],
    );
    for (const t of triggers) await q(`ALTER TABLE ${t} ENABLE TRIGGER ${t}_claims_changed`);
    await q('COMMIT');
    await q('SELECT pg_notify($1, $2)', ['tessera_claims', instanceId]);
    await q('ANALYZE orgs');
    return { membershipId, idpId, loginName: admin.email as string };
  });
}
