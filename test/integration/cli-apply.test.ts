import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Scope } from '../../src/db/scope.js';
import { newId } from '../../src/shared/ids.js';
import type { Runtime } from '../../src/runtime/index.js';
import { TEST_DATABASE_URL, TEST_MASTER_KEY } from '../support/env.js';
import { testRuntime } from '../support/runtime.js';

/** `tessera apply` end to end: the real command, as a child process, against real PostgreSQL. */
jest.setTimeout(120_000);

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-cli-'));
let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tessera(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/tessera.mjs', ...args],
      {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: TEST_DATABASE_URL, TESSERA_MASTER_KEY: TEST_MASTER_KEY, ...env },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The README example on a domain of its own, optionally edited, written to a temporary file. */
function seedFile(edit: (doc: YAML.Document) => void = () => {}): { file: string; domain: string } {
  const domain = `i${newId()}.test`;
  const doc = YAML.parseDocument(readFileSync('examples/seed.yaml', 'utf8'));
  doc.setIn(['instances', 0, 'domains'], doc.createNode([domain]));
  edit(doc);
  const file = path.join(dir, `${domain}.yaml`);
  writeFileSync(file, doc.toString());
  return { file, domain };
}

async function instanceOf(domain: string): Promise<Scope | undefined> {
  const row = await rt.db.knex('instance_domains').where({ domain }).first('instance_id');
  return row ? new Scope(rt.db.knex, row.instance_id) : undefined;
}

const secrets = { ALICE_PASSWORD: 'Alice-Passw0rd!', BOB_PASSWORD: 'Bob-Passw0rd!!', PORTAL_CLIENT_SECRET: 'portal-secret-0123456789' };

test('tessera with no arguments prints its usage', async () => {
  const run = await tessera([]);
  expect(run.code).toBe(0);
  expect(run.stderr).toMatch(/usage: tessera <command>/);
  expect(run.stderr).toMatch(/apply FILE \[--dry-run\]/);
  expect(run.stderr).toMatch(/export \[--instance ID\]/);
  expect((await tessera(['apply'])).code).toBe(2);
});

test('applying the README example builds the scenario; applying it again reports no changes and writes nothing', async () => {
  const { file, domain } = seedFile();
  const first = await tessera(['apply', file], secrets);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('+ org Alpha');
  expect(first.stdout).toContain('+ grant of project "Time Tracking" to Beta with roles Accountant, Developer');
  expect(first.stdout).toContain('+ user grant alice@Alpha on "ACME/Time Tracking" by Beta: Accountant');
  expect(first.stdout).toMatch(/applied \d+ changes/);

  const scope = (await instanceOf(domain))!;
  const q = (sql: string) => rt.db.knex.raw(sql, [scope.instanceId]).then((r: { rows: Record<string, unknown>[] }) => r.rows);
  const userGrants = await q(`SELECT u.username, o.name AS giver, g.role_keys, g.project_grant_id IS NOT NULL AS via_grant
    FROM user_grants g JOIN users u ON u.instance_id = g.instance_id AND u.id = g.user_id
    JOIN orgs o ON o.instance_id = g.instance_id AND o.id = g.org_id WHERE g.instance_id = ? ORDER BY u.username`);
  expect(userGrants).toEqual([
    { username: 'alice', giver: 'Beta', role_keys: ['Accountant'], via_grant: true },
    { username: 'bob', giver: 'Beta', role_keys: ['Developer'], via_grant: true },
    { username: 'eric', giver: 'Demo-Customer', role_keys: ['reader'], via_grant: true },
  ]);
  const portalGrant = await q(`SELECT o.name, g.role_keys FROM project_grants g JOIN orgs o ON o.instance_id = g.instance_id AND o.id = g.granted_org_id
    JOIN projects p ON p.instance_id = g.instance_id AND p.id = g.project_id WHERE g.instance_id = ? AND p.name = 'Portal'`);
  expect(portalGrant).toEqual([{ name: 'Demo-Customer', role_keys: ['reader', 'admin'] }]);
  const app = await scope.table('applications').where({ client_id: 'time-tracking' }).first();
  expect(app).toMatchObject({ auth_method: 'none', redirect_uris: ['http://localhost:3000/callback'] });
  const events = (await scope.table('audit_events').count({ n: '*' }))[0].n;
  expect(Number(events)).toBeGreaterThan(20);
  const cliEvents = await scope.table('audit_events').where({ actor_type: 'cli' }).count({ n: '*' });
  expect(Number(cliEvents[0].n)).toBeGreaterThan(20);

  const second = await tessera(['apply', file], secrets);
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/^no changes$/m);
  expect(second.stdout).not.toMatch(/^[+~-] /m);
  expect((await scope.table('audit_events').count({ n: '*' }))[0].n).toEqual(events);
});

test('--dry-run prints the plan as a diff and writes nothing', async () => {
  const { file, domain } = seedFile();
  const fresh = await tessera(['apply', file, '--dry-run'], secrets);
  expect(fresh.code).toBe(0);
  expect(fresh.stdout).toContain('+ instance Tessera');
  expect(fresh.stdout).toContain('+ project "Time Tracking" role Accountant');
  expect(fresh.stdout).toMatch(/dry run: \d+ changes planned, nothing written/);
  expect(await instanceOf(domain)).toBeUndefined();

  expect((await tessera(['apply', file], secrets)).code).toBe(0);
  const scope = (await instanceOf(domain))!;
  const edited = seedFile((doc) => {
    doc.setIn(['instances', 0, 'domains'], doc.createNode([domain]));
    doc.setIn(['instances', 0, 'orgs', 0, 'projects', 0, 'projectRoleCheck'], true);
    doc.setIn(['instances', 0, 'orgs', 3, 'projects', 0, 'grants', 0, 'roles'], doc.createNode(['reader']));
  });
  const events = (await scope.table('audit_events').count({ n: '*' }))[0].n;
  const plan = await tessera(['apply', edited.file, '--dry-run'], secrets);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('~ project "Time Tracking": projectRoleCheck false → true');
  expect(plan.stdout).toContain('~ grant of project Portal to Demo-Customer: roles reader, admin → reader');
  expect(plan.stdout).toContain('dry run: 2 changes planned, nothing written');
  expect(await scope.table('projects').where({ name: 'Time Tracking' }).first('project_role_check')).toEqual({ project_role_check: false });
  expect((await scope.table('audit_events').count({ n: '*' }))[0].n).toEqual(events);

  const real = await tessera(['apply', edited.file], secrets);
  expect(real.stdout).toContain('applied 2 changes');
  expect(await scope.table('projects').where({ name: 'Time Tracking' }).first('project_role_check')).toEqual({ project_role_check: true });
});

test('a wrong type deep in the file names the file, line, path and reason, exits non-zero and changes nothing', async () => {
  const { file, domain } = seedFile((doc) => doc.setIn(['instances', 0, 'orgs', 0, 'projects', 0, 'hasProjectCheck'], 'yes'));
  const run = await tessera(['apply', file], secrets);
  expect(run.code).not.toBe(0);
  const line =
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('hasProjectCheck')) + 1;
  expect(run.stderr).toContain(`${file}:${line}:`);
  expect(run.stderr).toContain('instances[0].orgs[0].projects[0].hasProjectCheck: Invalid input: expected boolean, received string');
  expect(run.stdout).toBe('');
  expect(await instanceOf(domain)).toBeUndefined();
});

test('an unknown role in a grant is refused with its path, and nothing of the file is applied', async () => {
  const { file, domain } = seedFile((doc) =>
    doc.setIn(['instances', 0, 'orgs', 0, 'projects', 0, 'grants', 1, 'roles'], doc.createNode(['Accountant', 'Boss'])),
  );
  const run = await tessera(['apply', file], secrets);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    new RegExp(
      `^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: instances\\[0\\]\\.orgs\\[0\\]\\.projects\\[0\\]\\.grants\\[1\\]\\.roles\\[1\\]: unknown role "Boss"`,
    ),
  );
  expect(run.stderr).toContain('nothing was changed');
  expect(await instanceOf(domain)).toBeUndefined();
});

test('a refusal by a service midway rolls back everything the file had already done', async () => {
  const { file, domain } = seedFile((doc) => {
    doc.setIn(['instances', 0, 'orgs', 3, 'projects', 0, 'apps', 0, 'redirectUris'], doc.createNode(['http://portal.example.com/cb']));
  });
  const run = await tessera(['apply', file], secrets);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('+ org Alpha'); // planned and performed before the refusal ...
  expect(run.stderr).toMatch(/instances\[0\]\.orgs\[3\]\.projects\[0\]\.apps\[0\]: .*uses http.*\(application\.redirect_uri_insecure\)/);
  expect(await instanceOf(domain)).toBeUndefined(); // ... and rolled back with the rest
  expect(
    await rt.db.knex('orgs').where({ name: 'Alpha' }).whereIn('instance_id', rt.db.knex('instance_domains').where({ domain }).select('instance_id')),
  ).toEqual([]);
});

test('secrets come from environment references and change only when the variable holds another value', async () => {
  const { file, domain } = seedFile();
  expect((await tessera(['apply', file], secrets)).code).toBe(0);
  const scope = (await instanceOf(domain))!;
  const alice = await scope.table('users').where({ username: 'alice' }).first();
  expect(await rt.deps.hasher.verify(alice.password_hash, secrets.ALICE_PASSWORD)).toBe(true);
  const portal = await scope.table('applications').where({ client_id: 'portal' }).first();
  expect(await rt.deps.hasher.verify(portal.client_secret_hash, secrets.PORTAL_CLIENT_SECRET)).toBe(true);

  const unset = await tessera(['apply', file]);
  expect(unset.stdout).toMatch(/^no changes$/m);
  expect(unset.stdout).toContain('! ALICE_PASSWORD is not set: the password of alice left as it is');

  const rotated = await tessera(['apply', file], { ...secrets, ALICE_PASSWORD: 'Another-Passw0rd', PORTAL_CLIENT_SECRET: 'another-portal-secret-987' });
  expect(rotated.stdout).toContain('~ user alice@Alpha: password (from $ALICE_PASSWORD)');
  expect(rotated.stdout).toContain('~ project Portal app "Portal Backend": client secret (from $PORTAL_CLIENT_SECRET)');
  expect(rotated.stdout).toContain('applied 2 changes');
  const after = await scope.table('users').where({ username: 'alice' }).first();
  expect(await rt.deps.hasher.verify(after.password_hash, 'Another-Passw0rd')).toBe(true);
});

test('only what a file names with absent: true is removed; what it leaves out stays as it is', async () => {
  const { file, domain } = seedFile();
  expect((await tessera(['apply', file], secrets)).code).toBe(0);
  const scope = (await instanceOf(domain))!;
  const alphaDomain = (
    await scope
      .table('org_domains')
      .join('orgs', function on() {
        this.on('orgs.instance_id', 'org_domains.instance_id').andOn('orgs.id', 'org_domains.org_id');
      })
      .where('orgs.name', 'Alpha')
      .first('org_domains.domain')
  ).domain;

  // A file that names only Demo-Vendor's Portal and Beta's grant to Alice (by her exact login name).
  const partial = path.join(dir, `partial-${domain}.yaml`);
  writeFileSync(
    partial,
    YAML.stringify({
      instances: [
        {
          domains: [domain],
          orgs: [
            { name: 'Demo-Vendor', projects: [{ name: 'Portal', roles: [{ key: 'support:write', absent: true }] }] },
            { name: 'Beta', userGrants: [{ user: `alice@${alphaDomain}`, project: 'ACME/Time Tracking', roles: [], absent: true }] },
          ],
        },
      ],
    }),
  );
  const run = await tessera(['apply', partial]);
  expect(run.stderr).toBe('');
  expect(run.stdout.split('\n').filter((l) => /^[+~-] /.test(l))).toEqual([
    '- project Portal role support:write',
    `- user grant alice@${alphaDomain} on "ACME/Time Tracking" by Beta`,
  ]);
  const portal = await scope.table('projects').where({ name: 'Portal' }).first();
  expect((await scope.table('project_roles').where({ project_id: portal.id }).orderBy('key')).map((r: { key: string }) => r.key)).toEqual([
    'admin',
    'reader',
    'support:read',
  ]);
  expect(await scope.table('orgs').count({ n: '*' })).toEqual([{ n: 5 }]);
  const grants = await scope
    .table('user_grants')
    .join('users', function on() {
      this.on('users.instance_id', 'user_grants.instance_id').andOn('users.id', 'user_grants.user_id');
    })
    .orderBy('username')
    .select('username');
  expect(grants.map((g: { username: string }) => g.username)).toEqual(['bob', 'eric']);
  expect((await tessera(['apply', partial])).stdout).toMatch(/^no changes$/m);
});

test('a misspelt key and a YAML syntax error are reported with their place in the file', async () => {
  const typo = seedFile((doc) => doc.setIn(['instances', 0, 'orgs', 1, 'users', 0, 'pasword'], 'x'));
  const run = await tessera(['apply', typo.file]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/:\d+:\d+: instances\[0\]\.orgs\[1\]\.users\[0\]: .*"pasword"/);

  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'instances:\n  - domains: [a.test\n    orgs: []\n');
  const syntax = await tessera(['apply', broken]);
  expect(syntax.code).toBe(1);
  expect(syntax.stderr).toMatch(new RegExp(`^${broken.replace(/[.]/g, '\\.')}:\\d+:\\d+: \\(document\\): `));
});
