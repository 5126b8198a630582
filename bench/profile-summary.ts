/**
 * `npx tsx bench/profile-summary.ts bench/results/profile/<file>.cpuprofile [top]`: where a
 * CPU profile written by BENCH_PROFILE=1 spends its time, without opening DevTools:
 * - self time by function (the hottest code, wherever it lives);
 * - time by Tessera function: each sample charged to the innermost frame in src/, so a library's
 *   time counts for the Tessera code that called it (oidc-provider, knex, pg, ejs, argon2…).
 */
import { readFileSync } from 'node:fs';
import { summarizeProfile, type CpuProfile } from './profile.js';

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts FILE.cpuprofile [top]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const summary = summarizeProfile(profile, Number(top));
const ms = (n: number) => `${(n / 1000).toFixed(0).padStart(7)} ms`;
const pct = (n: number) => `${((n / summary.totalUs) * 100).toFixed(1).padStart(5)}%`;
process.stdout.write(`total ${ms(summary.totalUs)} sampled, ${ms(summary.idleUs)} idle\n\nself time by function:\n`);
for (const f of summary.self) process.stdout.write(`${ms(f.us)} ${pct(f.us)}  ${f.name}\n`);
process.stdout.write('\ntime charged to the innermost Tessera frame (src/):\n');
for (const f of summary.tessera) process.stdout.write(`${ms(f.us)} ${pct(f.us)}  ${f.name}\n`);
