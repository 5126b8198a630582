import {
  describeMachine, machineLine, markdownTable, medianOfRounds, sharedMachineNote, shareOfBare, targetLines, type LoadResult, type Measurement,
} from '../../bench/report.js';

const result = (rps: number, p99 = 10): LoadResult => ({ rps, total: rps * 10, warmupTotal: rps * 2, p50: 5, p99, non2xx: 0, errors: 0 });

const run: Measurement[] = [
  { scenario: 'client_credentials', server: 'bare', result: result(2000) },
  { scenario: 'client_credentials', server: 'tessera', result: result(1200), dbPerRequest: 3, cpuMsPerRequest: 0.834 },
  { scenario: 'userinfo', server: 'bare', result: result(4000) },
  { scenario: 'userinfo', server: 'tessera', result: result(1000, 62) },
];

describe('the benchmark report', () => {
  it('gives Tessera\'s throughput as a share of the bare provider\'s, per endpoint', () => {
    expect(shareOfBare(run, 'client_credentials')).toBeCloseTo(0.6);
    expect(shareOfBare(run, 'userinfo')).toBeCloseTo(0.25);
    expect(shareOfBare(run, 'introspection')).toBeUndefined();
  });

  it('puts each Tessera row beside the bare one, with the percentage and queries per request', () => {
    const lines = markdownTable(run).split('\n');
    expect(lines[0]).toMatch(/^\| endpoint \| server \| req\/s \| p50 \(ms\) \| p99 \(ms\) \| non-2xx/);
    expect(lines[2]).toBe('| client_credentials | bare oidc-provider | 2000 | 5 | 10 | 0 | 0 |  |  |  |');
    expect(lines[3]).toBe('| client_credentials | Tessera | 1200 | 5 | 10 | 0 | 0 | 60% | 0.83 | 3 |');
    expect(lines[5]).toContain('| 25% |');
    // An endpoint not measured has no rows.
    expect(lines).toHaveLength(6);
  });

  it('reports the targets as met or missed, never asserting them', () => {
    expect(targetLines(run)).toEqual([
      '- client_credentials ≥ 50% of bare throughput: 60%, met',
      '- userinfo p99 < 50 ms: 62 ms, missed',
    ]);
    expect(targetLines([])[0]).toContain('not measured');
  });

  it('describes the machine and says when it was shared with other work', () => {
    const machine = describeMachine();
    expect(machine.cores).toBeGreaterThan(0);
    expect(machine.cpu.length).toBeGreaterThan(0);
    expect(machine.node).toBe(process.version);
    expect(machineLine({ ...machine, loadBefore: 1, loadAfter: 2 })).toContain(`${machine.cores} cores`);
    expect(sharedMachineNote({ ...machine, cores: 2, loadBefore: 1, loadAfter: 1.5 })).toBeUndefined();
    expect(sharedMachineNote({ ...machine, cores: 2, loadBefore: 9.4, loadAfter: 8 })).toContain('load average 9.4 on 2 cores');
  });

  it('folds several rounds into medians, and never hides an error response', () => {
    const round = (bareRps: number, tesseraRps: number, non2xx = 0): Measurement[] => [
      { scenario: 'userinfo', server: 'bare', result: { ...result(bareRps), non2xx } },
      { scenario: 'userinfo', server: 'tessera', result: result(tesseraRps), dbPerRequest: 6 },
    ];
    const folded = medianOfRounds([round(1000, 300), round(4000, 500, 2), round(2000, 100)]);
    expect(folded.map((m) => [m.server, m.result.rps])).toEqual([['bare', 2000], ['tessera', 300]]);
    expect(folded[0].result.non2xx).toBe(2);
    expect(folded[1].dbPerRequest).toBe(6);
    expect(folded[0].dbPerRequest).toBeUndefined();
    expect(shareOfBare(folded, 'userinfo')).toBeCloseTo(0.15);
  });
});
