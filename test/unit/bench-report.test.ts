import {
  describeMachine,
  formatSeconds,
  machineLine,
  markdownTable,
  medianFigure,
  percentile,
  sharedMachineNote,
  shareOfCeiling,
  targetLines,
  verdict,
  type Figure,
  type Row,
} from '../../bench/report.js';
import { breakdownTable, cpuBudgetTable, stepLabel, stepStats, type SigninResult } from '../../bench/signin.js';
import { argsToEnv, readSettings } from '../../bench/harness.js';
import { summarizeProfile, type CpuProfile } from '../../bench/profile.js';

const load = (value: number, p50 = 5, p99 = 10): Figure => ({ value, unit: 'req/s', p50, p99, non2xx: 0, errors: 0 });

const ccAudience: Row = {
  scenario: 'tokens',
  path: 'client_credentials, project audience scope',
  measured: { ...load(1200), cpuMsPerRequest: 0.834, dbPerRequest: 3, dbCpuMsPerRequest: 0.256 },
  ceiling: { what: 'bare oidc-provider client_credentials', figure: load(2000) },
  targets: [{ kind: 'share', atLeast: 0.5 }],
};
const signin: Row = {
  scenario: 'signin',
  path: 'full sign-in, 8 concurrent, 40 accounts',
  measured: { value: 13.4, unit: 'sign-ins/s', p50: 586, p99: 900 },
  ceiling: { what: 'argon2id verifies', figure: { value: 48, unit: 'verifies/s' } },
  targets: [
    { kind: 'share', atLeast: 0.75 },
    { kind: 'p50Below', ms: 300 },
  ],
};

describe('the benchmark report', () => {
  it('gives each figure as a share of its ceiling from the same run', () => {
    expect(shareOfCeiling(ccAudience)).toBeCloseTo(0.6);
    expect(shareOfCeiling({ ...ccAudience, ceiling: undefined })).toBeUndefined();
    expect(shareOfCeiling({ ...ccAudience, ceiling: { what: 'x', figure: load(0) } })).toBeUndefined();
  });

  it('says whether each target is met, and which of several were missed', () => {
    expect(verdict(ccAudience)).toBe('met');
    expect(verdict({ ...ccAudience, measured: load(900) })).toBe('not met');
    expect(verdict(signin)).toBe('not met (≥ 75% of ceiling; p50 < 300 ms)');
    expect(verdict({ ...signin, measured: { value: 40, unit: 'sign-ins/s', p50: 250 } })).toBe('met');
    expect(verdict({ ...signin, measured: { value: 40, unit: 'sign-ins/s', p50: 350 } })).toBe('not met (p50 < 300 ms)');
    expect(verdict({ scenario: 'tenants', path: 'rebuilds', measured: { value: 0, unit: 'builds' }, targets: [{ kind: 'atMost', value: 0 }] })).toBe('met');
    expect(verdict({ scenario: 'tenants', path: 'rebuilds', measured: { value: 12, unit: 'builds' }, targets: [{ kind: 'atMost', value: 0 }] })).toBe(
      'not met',
    );
    expect(verdict({ ...ccAudience, ceiling: undefined })).toBe('not measured');
    expect(verdict({ scenario: 'tenants', path: 'memory', measured: { value: 300, unit: 'KiB' } })).toBe('');
  });

  it('never calls a figure for failed requests met, on either side', () => {
    expect(verdict({ ...ccAudience, measured: { ...load(1900), non2xx: 3 } })).toBe('invalid (3 failed requests)');
    expect(verdict({ ...ccAudience, ceiling: { what: 'bare', figure: { ...load(2000), errors: 2 } } })).toBe('invalid (2 failed requests)');
    expect(verdict({ ...signin, measured: { value: 0, unit: 'sign-ins/s' } })).toBe('invalid (nothing completed)');
  });

  it('prints one markdown row per figure, with its ceiling, share, target and verdict', () => {
    const lines = markdownTable([
      ccAudience,
      signin,
      { scenario: 'tenants', path: 'memory per cached provider', measured: { value: 412.4, unit: 'KiB' } },
    ]).split('\n');
    expect(lines[0]).toMatch(
      /^\| scenario \| path \| measured \| p50 \/ p99 \(ms\) \| ceiling, same run \| share \| target \| met\? \| CPU ms\/req \| DB queries\/req \| DB CPU ms\/req \|$/,
    );
    expect(lines[2]).toBe(
      '| tokens | client_credentials, project audience scope | 1,200 req/s | 5 / 10 | bare oidc-provider client_credentials: 2,000 req/s | 60% | ≥ 50% of ceiling | met | 0.83 | 3 | 0.26 |',
    );
    expect(lines[3]).toBe(
      '| signin | full sign-in, 8 concurrent, 40 accounts | 13.4 sign-ins/s | 586 / 900 | argon2id verifies: 48 verifies/s | 27.9% | ≥ 75% of ceiling; p50 < 300 ms | not met (≥ 75% of ceiling; p50 < 300 ms) |  |  |  |',
    );
    expect(lines[4]).toBe('| tenants | memory per cached provider | 412 KiB |  |  |  |  |  |  |  |  |');
    expect(lines).toHaveLength(5);
  });

  it('lists the targeted rows in one line each', () => {
    expect(targetLines([ccAudience, signin, { scenario: 'tenants', path: 'memory', measured: { value: 1, unit: 'KiB' } }])).toEqual([
      '- tokens: client_credentials, project audience scope (≥ 50% of ceiling): 60%, met',
      '- signin: full sign-in, 8 concurrent, 40 accounts (≥ 75% of ceiling; p50 < 300 ms): 27.9%, p50 586 ms, not met (≥ 75% of ceiling; p50 < 300 ms)',
    ]);
  });

  it('folds several rounds into medians, and never hides an error response', () => {
    const folded = medianFigure([{ ...load(1000), non2xx: 0 }, { ...load(4000, 9), non2xx: 2, dbPerRequest: 6 }, load(2000, 7)]);
    expect(folded.value).toBe(2000);
    expect(folded.p50).toBe(7);
    expect(folded.non2xx).toBe(2);
    expect(folded.dbPerRequest).toBe(6);
    expect(medianFigure([{ value: 3, unit: 'KiB' }])).toEqual({ value: 3, unit: 'KiB' });
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('describes the machine and says when it was shared with other work', () => {
    const machine = describeMachine();
    expect(machine.cores).toBeGreaterThan(0);
    expect(machine.cpu.length).toBeGreaterThan(0);
    expect(machine.node).toBe(process.version);
    expect(machineLine({ ...machine, loadBefore: 1, loadAfter: 2 })).toContain(`${machine.cores} cores`);
    expect(sharedMachineNote({ ...machine, cores: 2, loadBefore: 1, loadAfter: 1.5 })).toBeUndefined();
    expect(sharedMachineNote({ ...machine, cores: 2, loadBefore: 9.4, loadAfter: 8 })).toContain('load average 9.4 on 2 cores');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(95)).toBe('1 min 35 s');
  });
});

describe('the sign-in breakdown', () => {
  it('names each request of a sign-in by method and path, without the interaction id', () => {
    expect(stepLabel('get', new URL('http://127.0.0.1:8080/auth?client_id=x'))).toBe('GET /auth');
    expect(stepLabel('POST', new URL('http://h/ui/login/Yx3kq9CzL1m_2abcdefGH/password'))).toBe('POST /ui/login/:uid/password');
    expect(stepLabel('GET', new URL('http://h/auth/Yx3kq9CzL1m_2abcdefGH'))).toBe('GET /auth/:uid');
    expect(stepLabel('GET', new URL('http://h/ui/login/assets/login.css'))).toBe('GET /ui/login/assets/login.css');
  });

  it('sums each step over all sign-ins, in the order steps occur', () => {
    const stats = stepStats([
      [
        { step: 'GET /auth', ms: 10 },
        { step: 'POST /token', ms: 4 },
      ],
      [
        { step: 'GET /auth', ms: 30 },
        { step: 'POST /token', ms: 6 },
      ],
      [
        { step: 'GET /auth', ms: 20 },
        { step: 'POST /token', ms: 5 },
      ],
    ]);
    expect(stats.map((s) => s.step)).toEqual(['GET /auth', 'POST /token']);
    expect(stats[0]).toEqual({ step: 'GET /auth', p50: 20, p99: 30, mean: 20 });
  });

  it('prints the breakdown of one sign-in alone and under load', () => {
    const result: SigninResult = {
      completed: 100,
      rate: 10,
      total: 140,
      p50: 400,
      p99: 700,
      failures: 0,
      steps: [{ step: 'GET /auth', p50: 50, p99: 90, mean: 55 }],
      single: [{ step: 'GET /auth', p50: 12.34, p99: 20, mean: 13 }],
      singleTotal: 120,
      cpuMsPerSignin: 3,
    };
    expect(breakdownTable(result, 8).split('\n')).toEqual([
      '| step of one sign-in | alone: median (ms) | 8 concurrent: p50 (ms) | 8 concurrent: p99 (ms) |',
      '| --- | ---: | ---: | ---: |',
      '| GET /auth | 12.3 | 50 | 90 |',
      '| whole sign-in | 120 | 400 | 700 |',
    ]);
  });
});

describe('the CPU budget of a sign-in', () => {
  it('adds every process, and says what the cores allow against one argon2id verify', () => {
    const table = cpuBudgetTable({ server: 30, postgres: 2.5, redis: 1, loadGenerator: 6.5 }, { server: 24, loadGenerator: 6 }, 20, 2, 0.75).split('\n');
    expect(table).toContain('| total | 40 | 30 | 20 |');
    // 2 cores: 2000 ms of CPU a second; 40 ms a sign-in is 50/s, half of argon2's 100/s.
    expect(table).toContain("| at most, 2 cores busy: per second (share of argon2's) | 50 (50%) | 66.7 (66.7%) | 100 (100%) |");
    expect(table).toContain('| PostgreSQL | 2.5 | – | – |');
    expect(table.at(-1)).toBe("75% of argon2's rate needs a total of at most 26.7 ms per sign-in: 6.7 ms for everything but the verify.");
  });
});

describe('the benchmark settings', () => {
  it('runs every scenario, or those BENCH_ONLY names, and refuses a name it does not know', () => {
    expect(readSettings({}).scenarios).toEqual(['tokens', 'signin', 'management', 'tenants', 'large', 'console']);
    expect(readSettings({ BENCH_ONLY: 'large, tokens' }).scenarios).toEqual(['tokens', 'large']);
    expect(() => readSettings({ BENCH_ONLY: 'userinfo' })).toThrow(/unknown scenario userinfo/);
    expect(readSettings({ BENCH_TENANTS: '50' }).tenants).toBe(50);
  });

  it('takes --only, --rounds and --quick on the command line; quick mode is smaller unless told otherwise', () => {
    expect(argsToEnv(['--only', 'signin', '--only=tokens', '--rounds', '3', '--quick'])).toEqual({
      BENCH_ONLY: 'signin,tokens',
      BENCH_ROUNDS: '3',
      BENCH_QUICK: '1',
    });
    expect(() => argsToEnv(['--fast'])).toThrow(/unknown option --fast/);
    expect(() => argsToEnv(['--only'])).toThrow(/--only needs a value/);
    const quick = readSettings({ BENCH_QUICK: '1', BENCH_TENANTS: '7' });
    expect(quick).toMatchObject({ quick: true, tenants: 7, largeUsers: 10_000, duration: 4 });
    expect(readSettings({})).toMatchObject({ quick: false, tenants: 1000, largeUsers: 100_000, duration: 8 });
  });
});

describe('the CPU profile summary', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
      { id: 2, callFrame: frame('userinfo', 'file:///app/src/oidc/provider.ts'), children: [3] },
      { id: 3, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js'), children: [4] },
      { id: 4, callFrame: frame('writev', 'node:net') },
      { id: 5, callFrame: frame('(idle)', '') },
    ],
    samples: [4, 4, 3, 2, 5, 5],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 3000],
  };

  it('charges library time to the Tessera function that called it, and counts idle time apart', () => {
    const s = summarizeProfile(profile);
    expect(s.totalUs).toBe(8000);
    expect(s.idleUs).toBe(4000);
    expect(s.self[0]).toEqual({ name: 'writev node:net:1', us: 2000 });
    expect(s.tessera).toEqual([{ name: 'userinfo src/oidc/provider.ts:1', us: 4000 }]);
  });

  it("knows Tessera's compiled build (the bench runs it) as Tessera too", () => {
    const compiled: CpuProfile = {
      ...profile,
      nodes: profile.nodes.map((n) => (n.id === 2 ? { ...n, callFrame: frame('userinfo', 'file:///app/bench/results/dist/src/oidc/provider.js') } : n)),
    };
    expect(summarizeProfile(compiled).tessera).toEqual([{ name: 'userinfo src/oidc/provider.js:1', us: 4000 }]);
  });
});
