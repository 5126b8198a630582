/**
 * The sign-in load generator, its own process like bench/load.ts. Input: one JSON file (runJson) (a
 * SigninSpec). First `single` sign-ins one at a time (the breakdown of one sign-in), then
 * `concurrency` sign-ins in flight at once, accounts taken in turn: a discarded warm-up, then the
 * measured run. Each sign-in is a fresh browser (cookie jar) that walks the real pages:
 *   GET /auth → login-name page → POST login name → password page → POST password → GET /auth/{uid}
 *   → redirect to the callback → POST /token (code exchange with PKCE, Basic client auth).
 * Output: one JSON line (SigninResult).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Browser, formsOf, localRequest, type HttpResponse } from '../test/support/rp.js';
import { median, percentile } from './report.js';
import { stepLabel, stepStats, type SigninAccount, type SigninResult, type SigninSpec, type StepTiming } from './signin.js';
import { readInput } from './processes.js';

const spec = readInput<SigninSpec>();
const authorizationEndpoint = new URL('/auth', spec.issuer);
const tokenEndpoint = new URL('/token', spec.issuer);
const basic = `Basic ${Buffer.from(`${encodeURIComponent(spec.clientId)}:${encodeURIComponent(spec.clientSecret)}`).toString('base64')}`;

class SigninFailed extends Error {}

/** One whole sign-in; its requests' timings. Throws SigninFailed with what went wrong. */
async function signIn(account: SigninAccount): Promise<StepTiming[]> {
  const browser = new Browser();
  const timings: StepTiming[] = [];
  const timed = async (method: string, url: URL, run: () => Promise<HttpResponse>) => {
    const start = performance.now();
    const res = await run();
    timings.push({ step: stepLabel(method, url), ms: performance.now() - start });
    return res;
  };
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: spec.clientId,
    redirect_uri: spec.redirectUri,
    response_type: 'code',
    scope: spec.scope,
    state: randomBytes(8).toString('base64url'),
    nonce: randomBytes(8).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let res = await timed('GET', url, () => browser.request(url));
  let callback: URL | undefined;
  for (let hops = 0; !callback; hops++) {
    if (hops > 12) throw new SigninFailed('too many steps');
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      const next = new URL(res.headers.location, res.url);
      if (next.href.startsWith(spec.redirectUri)) {
        callback = next;
        break;
      }
      res = await timed('GET', next, () => browser.request(next));
      continue;
    }
    if (res.status !== 200) throw new SigninFailed(`${res.status} at ${res.url.pathname}: ${res.body.slice(0, 300)}`);
    const form = formsOf(res).find((f) => f.method.toLowerCase() === 'post' && !f.action.pathname.endsWith('/abort'));
    if (!form) throw new SigninFailed(`no form at ${res.url.pathname}`);
    const fields = { ...form.fields };
    if (form.action.pathname.endsWith('/loginname')) fields.loginName = account.loginName;
    if (form.action.pathname.endsWith('/password')) fields.password = account.password;
    res = await timed('POST', form.action, () => browser.request(form.action, { form: fields }));
  }
  const code = callback.searchParams.get('code');
  if (!code) throw new SigninFailed(`callback without a code: ${callback.search}`);
  const token = await timed('POST', tokenEndpoint, () =>
    localRequest(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: spec.redirectUri, code_verifier: verifier }).toString(),
    }),
  );
  const body = JSON.parse(token.body || '{}') as Record<string, unknown>;
  if (token.status !== 200 || !body.access_token || !body.id_token) throw new SigninFailed(`code exchange: ${token.status} ${token.body.slice(0, 300)}`);
  return timings;
}

let made = 0;

interface Run {
  timings: StepTiming[][];
  totals: number[];
  failures: number;
  firstFailure?: string;
  seconds: number;
}

/** `concurrency` loops of sign-ins for `seconds`; each loop takes the next account in turn. */
async function run(concurrency: number, seconds: number, next: () => SigninAccount, maxSignins = Infinity): Promise<Run> {
  const out: Run = { timings: [], totals: [], failures: 0, seconds };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let started = 0;
  const loop = async () => {
    while (performance.now() < deadline && started < maxSignins) {
      started++;
      made++;
      const t0 = performance.now();
      try {
        const timings = await signIn(next());
        // Only sign-ins finished in time count, as a request rate would.
        if (performance.now() <= deadline) {
          out.timings.push(timings);
          out.totals.push(performance.now() - t0);
        }
      } catch (err) {
        out.failures++;
        out.firstFailure ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  if (maxSignins !== Infinity) out.seconds = (performance.now() - start) / 1000;
  return out;
}

let turn = 0;
const nextAccount = () => spec.accounts[turn++ % spec.accounts.length];

const cpuBefore = process.cpuUsage();
const single = spec.single > 0 ? await run(1, 120, nextAccount, spec.single) : undefined;
if (spec.warmup > 0) await run(spec.concurrency, spec.warmup, nextAccount);
const load = await run(spec.concurrency, spec.duration, nextAccount);
const cpu = process.cpuUsage(cpuBefore);
const out: SigninResult = {
  completed: load.totals.length,
  rate: load.totals.length / load.seconds,
  total: made,
  p50: median(load.totals),
  p99: percentile(load.totals, 99),
  failures: load.failures + (single?.failures ?? 0),
  firstFailure: single?.firstFailure ?? load.firstFailure,
  steps: stepStats(load.timings),
  single: single ? stepStats(single.timings) : [],
  singleTotal: single ? median(single.totals) : NaN,
  cpuMsPerSignin: (cpu.user + cpu.system) / 1000 / Math.max(1, made),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
