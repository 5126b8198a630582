import { pickLocale, translator, type Locale, type Translate } from '../ui/i18n.js';

/**
 * The console's messages: locales/<lang>/console.json, every key under `console.` so no other
 * area's file can clash with it. Views and handlers use the short key ('users.title').
 */
export function consoleTranslator(locale: Locale): Translate {
  const t = translator(locale);
  return (key, vars) => {
    const full = `console.${key}`;
    const text = t(full, vars);
    return text === full ? key : text;
  };
}

/** Does the catalogue know this key (so an error's reason can pick its own message)? */
export const hasMessage = (locale: Locale, key: string): boolean => consoleTranslator(locale)(key) !== key;

export { pickLocale, type Locale, type Translate };
