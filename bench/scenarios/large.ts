/**
 * A large instance: `largeUsers` users holding `largeGrantsPerUser` user grants each (100,000 and
 * 1,000,000 by default) in one instance, seeded with SQL (generate_series) under every constraint
 * of the schema. Sign-ins, client_credentials with the project audience, and userinfo, each beside
 * the same on the small instance, measured back to back in the same run after the seed.
 */
import argon2 from 'argon2';
import { formatSeconds, medianFigure, type Figure, type Row } from '../report.js';
import { loadSpec, log, measureSideBySide, withDatabase } from '../harness.js';
import { audienceToken, instanceIds, openInstance, tokenRequests } from '../instance.js';
import { largeInstance, secretsEnv } from '../seed.js';
import { tesseraTarget, type BenchContext, type Scenario } from './context.js';
import { measureSignins } from './signin.js';

export const LARGE_DOMAIN = 'large.bench.test';
const LARGE_ORG = 'Large';
const PROJECTS = 20;

const bulkName = (g: number) => `bulk-${String(g).padStart(6, '0')}`;

/**
 * The bulk: users `bulk-000001…` (all with the same password hash, so any may sign in), each with
 * grants on `perUser` of the instance's projects in turn. The claims-cache triggers are switched
 * off for the seed's own transaction only (a notice per row would be a million notices), and one
 * notice for the whole instance is sent instead, as a restore would.
 */
async function seedBulk(instanceId: string, users: number, perUser: number, passwordHash: string): Promise<void> {
  await withDatabase(async (c) => {
    const org = (await c.query('SELECT id FROM orgs WHERE instance_id = $1 AND name = $2', [instanceId, LARGE_ORG])).rows[0].id as string;
    await c.query('BEGIN');
    await c.query('ALTER TABLE users DISABLE TRIGGER users_claims_changed');
    await c.query('ALTER TABLE user_grants DISABLE TRIGGER user_grants_claims_changed');
    await c.query(
      `
      INSERT INTO users (instance_id, id, org_id, type, username, state, email, email_verified, given_name, family_name, display_name, password_hash, password_changed_at)
      SELECT $1, '9' || lpad(g::text, 17, '0'), $2, 'human', 'bulk-' || lpad(g::text, 6, '0'), 'active',
             'bulk-' || lpad(g::text, 6, '0') || '@' || $5, true, 'Bulk', 'User ' || g, 'Bulk User ' || g, $3, now()
      FROM generate_series(1, $4::int) g`,
      [instanceId, org, passwordHash, users, LARGE_DOMAIN],
    );
    await c.query(
      `
      INSERT INTO user_grants (instance_id, id, user_id, project_id, org_id, role_keys)
      SELECT $1, '8' || lpad(((g - 1) * $4 + k)::text, 17, '0'), '9' || lpad(g::text, 17, '0'),
             p.ids[1 + ((g + k) % array_length(p.ids, 1))], $2, '{reader}'
      FROM generate_series(1, $3::int) g, generate_series(0, $4::int - 1) k,
           (SELECT array_agg(id ORDER BY name) AS ids FROM projects WHERE instance_id = $1) p`,
      [instanceId, org, users, perUser],
    );
    await c.query('ALTER TABLE users ENABLE TRIGGER users_claims_changed');
    await c.query('ALTER TABLE user_grants ENABLE TRIGGER user_grants_claims_changed');
    await c.query('COMMIT');
    await c.query('SELECT pg_notify($1, $2)', ['tessera_claims', instanceId]);
    await c.query('ANALYZE users');
    await c.query('ANALYZE user_grants');
  });
}

/** Small and large, back to back, BENCH_ROUNDS times (order reversed every other round). */
async function signinPair(ctx: BenchContext, large: Awaited<ReturnType<typeof openInstance>>): Promise<[Figure, Figure]> {
  const small: Figure[] = [];
  const big: Figure[] = [];
  for (let round = 0; round < ctx.settings.rounds; round++) {
    const order = round % 2 ? [large, ctx.small] : [ctx.small, large];
    for (const inst of order) {
      log(`large: sign-ins on the ${inst === large ? 'large' : 'small'} instance`);
      (inst === large ? big : small).push((await measureSignins(ctx, inst, 0)).figure);
    }
  }
  return [medianFigure(small), medianFigure(big)];
}

export const large: Scenario = async (ctx) => {
  const { settings, tessera, small } = ctx;
  const users = settings.largeUsers;
  const perUser = Math.min(settings.largeGrantsPerUser, PROJECTS);
  log(`large: the instance at ${LARGE_DOMAIN} (tessera apply), then ${users} users and ${users * perUser} user grants (SQL)`);
  await tessera.apply('large', { instances: [largeInstance(LARGE_DOMAIN, LARGE_ORG, PROJECTS)] }, secretsEnv(small.secrets));
  const { id } = await instanceIds(LARGE_DOMAIN);
  const t0 = performance.now();
  const hash = await argon2.hash(small.secrets.userPassword, { type: argon2.argon2id, ...tessera.config.passwordHashing });
  await seedBulk(id, users, perUser, hash);
  const seedSeconds = (performance.now() - t0) / 1000;
  log(`large: seeded in ${formatSeconds(seedSeconds)}`);

  // Accounts with a grant on project Bench (the web app's), so their tokens and userinfo carry roles.
  const withBench = Array.from({ length: users }, (_, i) => i + 1).filter((g) => Array.from({ length: perUser }, (_, k) => (g + k) % PROJECTS).includes(0));
  const accounts = withBench
    .slice(0, small.accounts.length)
    .map((g) => ({ loginName: `${bulkName(g)}@${LARGE_DOMAIN}`, password: small.secrets.userPassword }));
  const big = await openInstance(tessera, LARGE_DOMAIN, small.secrets, accounts);

  const [signinSmall, signinLarge] = await signinPair(ctx, big);
  const smallReqs = tokenRequests(tessera, small, await audienceToken(small));
  const largeReqs = tokenRequests(tessera, big, await audienceToken(big));
  const target = tesseraTarget(ctx);
  const side = (label: string, a: typeof smallReqs.userinfo, b: typeof smallReqs.userinfo) =>
    measureSideBySide(`large: ${label}`, settings, [
      { name: 'large instance', target, spec: loadSpec(settings, b) },
      { name: 'small instance', target, spec: loadSpec(settings, a) },
    ]);
  const [ccLarge, ccSmall] = await side('client_credentials, project audience', smallReqs.clientCredentialsAudience, largeReqs.clientCredentialsAudience);
  const [uiLarge, uiSmall] = await side('userinfo', smallReqs.userinfo, largeReqs.userinfo);

  const within = [{ kind: 'share' as const, atLeast: 0.8 }];
  const rows: Row[] = [
    {
      scenario: 'large',
      path: `full sign-in, ${settings.signinConcurrency} concurrent`,
      measured: signinLarge,
      ceiling: { what: 'small instance', figure: signinSmall },
      targets: within,
    },
    {
      scenario: 'large',
      path: 'client_credentials, project audience scope',
      measured: ccLarge,
      ceiling: { what: 'small instance', figure: ccSmall },
      targets: within,
    },
    { scenario: 'large', path: 'userinfo (roles claim)', measured: uiLarge, ceiling: { what: 'small instance', figure: uiSmall }, targets: within },
  ];
  return {
    rows,
    details: [
      `Large instance: ${users.toLocaleString('en-US')} users and ${(users * perUser).toLocaleString('en-US')} user grants over ${PROJECTS} projects, seeded with SQL in ${formatSeconds(seedSeconds)}.`,
    ],
  };
};
