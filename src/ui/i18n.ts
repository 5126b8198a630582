import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { paths } from '../shared/paths.js';

/**
 * The message catalogues of every page and mail (login, mail, console, account). A language is a
 * folder locales/<lang>/ with one JSON file per area (login.json, mail.json, ui.json…): an area
 * adds its keys in its own file, and a key defined by two files is refused at load. A key missing
 * in one language falls back to English, so a half-finished translation never shows a raw key.
 */
export const supportedLocales = ['en', 'de'] as const;
export type Locale = (typeof supportedLocales)[number];
export type Messages = Record<string, string>;

/** The area files of one language and their keys, as stored (for loading and for the completeness test). */
export function catalogueFiles(locale: Locale): Map<string, Messages> {
  const dir = path.join(paths.locales, locale);
  const files = new Map<string, Messages>();
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    files.set(name, JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Messages);
  }
  return files;
}

function loadCatalogue(locale: Locale): Messages {
  const merged: Messages = {};
  const origin = new Map<string, string>();
  for (const [file, messages] of catalogueFiles(locale)) {
    for (const [key, text] of Object.entries(messages)) {
      if (origin.has(key)) throw new Error(`locales/${locale}: "${key}" is defined in both ${origin.get(key)} and ${file}`);
      origin.set(key, file);
      merged[key] = text;
    }
  }
  return merged;
}

const catalogues = new Map<Locale, Messages>();
function catalogue(locale: Locale): Messages {
  let c = catalogues.get(locale);
  if (!c) catalogues.set(locale, (c = loadCatalogue(locale)));
  return c;
}

function supported(tag: string): Locale | undefined {
  const base = tag.trim().toLowerCase().split(/[-_]/)[0];
  return (supportedLocales as readonly string[]).includes(base) ? (base as Locale) : undefined;
}

/** Accept-Language tags ordered by their q weight (stable for equal weights). */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) || 0 : 1, i };
    })
    .filter((e) => e.tag && e.tag !== '*' && e.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((e) => e.tag);
}

/** ui_locales (space-separated, in preference order) first, then Accept-Language, then the user's preferred language, else English. */
export function pickLocale(opts: { uiLocales?: string | null; acceptLanguage?: string; preferred?: string | null }): Locale {
  for (const tag of (opts.uiLocales ?? '').split(/\s+/).filter(Boolean)) {
    const l = supported(tag);
    if (l) return l;
  }
  for (const tag of parseAcceptLanguage(opts.acceptLanguage)) {
    const l = supported(tag);
    if (l) return l;
  }
  // A user's own preference: what a mail, which has no request, goes by.
  return (opts.preferred && supported(opts.preferred)) || 'en';
}

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

/**
 * A translate function for one locale; {name} placeholders are replaced (values are not escaped:
 * ejs does that). A numeric `count` picks the plural form the language uses for it: the key
 * `{key}.one`, `{key}.other` (Intl.PluralRules' categories), falling back to `{key}.other`.
 */
export function translator(locale: Locale): Translate {
  let t = translators.get(locale);
  if (!t) translators.set(locale, (t = newTranslator(locale)));
  return t;
}

/** One per language: the catalogues never change while the process runs (a new one per page, with its Intl.PluralRules, showed in a sign-in's profile). */
const translators = new Map<Locale, Translate>();

function newTranslator(locale: Locale): Translate {
  const own = catalogue(locale);
  const en = catalogue('en');
  const plural = new Intl.PluralRules(locale);
  const lookup = (key: string) => own[key] ?? en[key];
  return (key, vars) => {
    const count = vars?.count;
    const form = typeof count === 'number' ? (lookup(`${key}.${plural.select(count)}`) ?? lookup(`${key}.other`)) : undefined;
    const template = form ?? lookup(key) ?? key;
    return vars ? template.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : template;
  };
}
