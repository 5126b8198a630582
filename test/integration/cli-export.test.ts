import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { newId } from '../../src/shared/ids.js';
import { TEST_DATABASE_URL, TEST_MASTER_KEY } from '../support/env.js';

/** `tessera export`: the real command, as a child process, against real PostgreSQL. */
jest.setTimeout(120_000);

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-export-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tessera(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    // Exporting every instance of the shared test database runs to megabytes.
    execFile(
      process.execPath,
      ['bin/tessera.mjs', ...args],
      { maxBuffer: 256 * 1024 * 1024, env: { PATH: process.env.PATH ?? '', DATABASE_URL: TEST_DATABASE_URL, TESSERA_MASTER_KEY: TEST_MASTER_KEY, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The README example on a domain of its own, with a few extras so the round trip covers more ground. */
function scenario(): { file: string; domain: string } {
  const domain = `i${newId()}.test`;
  const doc = YAML.parseDocument(readFileSync('examples/seed.yaml', 'utf8'));
  doc.setIn(['instances', 0, 'domains'], doc.createNode([domain, `alt.${domain}`]));
  doc.setIn(['instances', 0, 'oidc', 'accessTokenLifetime'], '90m');
  doc.setIn(
    ['instances', 0, 'smtp'],
    doc.createNode({ host: 'mail.test', port: 2525, fromAddress: `no-reply@${domain}`, fromName: 'Tessera', passwordFromEnv: 'SMTP_PASSWORD' }),
  );
  doc.setIn(['instances', 0, 'orgs', 1, 'domains'], doc.createNode([`alpha-corp.${domain}`]));
  doc.setIn(['instances', 0, 'orgs', 1, 'policies'], doc.createNode({ login: { allowRegister: true }, label: { primaryColor: '#112233' } }));
  doc.setIn(
    ['instances', 0, 'orgs', 1, 'users', 1],
    doc.createNode({ type: 'machine', username: 'reporter', name: 'Reporting job', secretFromEnv: 'REPORTER_SECRET', metadata: { team: 'finance' } }),
  );
  doc.setIn(
    ['instances', 0, 'orgs', 1, 'idps'],
    doc.createNode([{ name: 'Corporate SSO', issuer: 'https://sso.alpha.test', clientId: 'tessera', clientSecretFromEnv: 'SSO_SECRET', autoLinking: 'email' }]),
  );
  doc.setIn(['instances', 0, 'orgs', 2, 'projects'], doc.createNode([{ name: 'Internal', state: 'inactive', roles: [{ key: 'viewer' }] }]));
  doc.setIn(['instances', 0, 'orgs', 0, 'projects', 0, 'grants', 1, 'members'], doc.createNode([{ user: 'bob@Beta', roles: ['PROJECT_GRANT_OWNER'] }]));
  doc.setIn(
    ['instances', 0, 'orgs', 2, 'userGrants', 2],
    doc.createNode({ user: 'bob', project: 'Internal', roles: ['viewer'], expiresAt: '2030-01-01T00:00:00.000Z' }),
  );
  // Deactivated objects stay stored: an inactive org whose inactive grant carries an inactive authorization.
  doc.addIn(
    ['instances', 0, 'orgs'],
    doc.createNode({
      name: 'Dormant',
      state: 'inactive',
      users: [{ username: 'dora', email: 'dora@dormant.test', state: 'inactive', passwordFromEnv: 'DORA_PASSWORD' }],
      userGrants: [{ user: 'dora', project: 'Demo-Vendor/Portal', roles: ['reader'], state: 'inactive' }],
    }),
  );
  doc.addIn(['instances', 0, 'orgs', 3, 'projects', 0, 'grants'], doc.createNode({ org: 'Dormant', roles: ['reader'], state: 'inactive' }));
  return { file: write(`${domain}.yaml`, doc.toString()), domain };
}

const secrets = {
  ALICE_PASSWORD: 'Alice-Passw0rd!',
  BOB_PASSWORD: 'Bob-Passw0rd!!',
  PORTAL_CLIENT_SECRET: 'portal-secret-0123456789',
  SMTP_PASSWORD: 'smtp-secret',
  DORA_PASSWORD: 'Dora-Passw0rd!!',
  REPORTER_SECRET: 'reporter-secret-0123456789',
  SSO_SECRET: 'sso-secret',
};

/** Every `xFromEnv: NAME` in an exported file, with a value good enough for any policy. */
function envFor(text: string): Record<string, string> {
  const names = [...text.matchAll(/FromEnv: (\w+)/g)].map((m) => m[1]);
  return Object.fromEntries(names.map((n) => [n, `Exported-${n.length}-Secret-0123456789`]));
}

test('export writes the state back in the apply format, without secrets, and applying it changes nothing', async () => {
  const { file, domain } = scenario();
  const applied = await tessera(['apply', file], secrets);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);

  const out = path.join(dir, `export-${domain}.yaml`);
  const exported = await tessera(['export', '--instance', domain, '--out', out]);
  expect(exported.code).toBe(0);
  const text = readFileSync(out, 'utf8');
  expect(text).toContain(`domains: [${domain}, alt.${domain}]`);
  expect(text).toContain('project: ACME/Time Tracking');
  expect(text).toContain('passwordFromEnv: TESSERA_PASSWORD_ALPHA_ALICE');
  expect(text).toMatch(/- name: Dormant\n\s+state: inactive/);
  for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  expect(text).not.toContain('$argon2');
  expect(text).not.toMatch(/v1\.[\w-]+\.[\w-]+\./); // no sealed secret either

  const again = await tessera(['apply', out]);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/^no changes$/m);
  expect(again.stdout).not.toMatch(/^[+~-] /m);
});

test('the round trip is lossless apart from secrets: an export applied elsewhere exports the same again', async () => {
  const { file, domain } = scenario();
  expect((await tessera(['apply', file], secrets)).code).toBe(0);
  const first = (await tessera(['export', '--instance', domain])).stdout;

  // The same file on other domains makes a second instance; its export must be the first one, renamed.
  const copyDomain = `i${newId()}.test`;
  const copyFile = write(`copy-${copyDomain}.yaml`, first.split(domain).join(copyDomain));
  const created = await tessera(['apply', copyFile], envFor(first));
  expect(created.stderr).toBe('');
  expect(created.stdout).toContain('+ instance Tessera');
  const second = (await tessera(['export', '--instance', copyDomain])).stdout;
  expect(second.split(copyDomain).join(domain)).toEqual(first);
});

test('export without --instance writes every instance; an unknown instance is an error', async () => {
  const { file, domain } = scenario();
  // A new IdP cannot be made without its client secret: even a dry run says where it is missing.
  const noSecret = await tessera(['apply', file, '--dry-run']);
  expect(noSecret.code).toBe(1);
  expect(noSecret.stderr).toContain('instances[0].orgs[1].idps[0].clientSecretFromEnv: a new IdP needs its client secret');
  expect((await tessera(['apply', file], secrets)).code).toBe(0);
  const all = await tessera(['export']);
  expect(all.code).toBe(0);
  const listed = YAML.parse(all.stdout).instances as { domains: string[] }[];
  expect(listed.map((i) => i.domains[0])).toContain(domain);
  const missing = await tessera(['export', '--instance', 'nowhere.invalid']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('no instance has the id or domain nowhere.invalid');
});
