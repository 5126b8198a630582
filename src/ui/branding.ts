import { createHash } from 'node:crypto';
import type { Scope } from '../db/scope.js';
import type { PolicySettings } from '../domain/policy/schemas.js';
import type { AssetKind } from '../domain/policy/label-assets.js';
import { readsOf, type SignInReads } from '../domain/sign-in.js';

/**
 * The look of every page and mail: the label policy of the org whose rules apply (for a login,
 * see src/login/org-context.ts), turned into CSS custom properties for light and dark, plus the
 * logo, icon and font uploaded into label_assets (src/domain/policy/label-assets.ts, which owns
 * their rules). An org without its own asset shows the instance's.
 */
export type LabelPolicy = PolicySettings<'label'>;
export type PrivacyPolicy = PolicySettings<'privacy'>;

export interface Branding {
  /** the org whose label policy applies; null: the instance default */
  orgId: string | null;
  orgName: string;
  label: LabelPolicy;
  privacy: PrivacyPolicy;
  /** path of the stylesheet with this branding's custom properties */
  themeUrl: string;
  /** paths of uploaded assets, by kind (only the ones that exist) */
  assets: Partial<Record<AssetKind, string>>;
}

/** Font names come from admins, but end up in CSS: keep only what a font-family name needs. */
function cssFontName(name: string): string {
  return name.replace(/[^\p{L}\p{N} _-]/gu, '').trim();
}

/** The label policy as CSS custom properties, light by default and dark under prefers-color-scheme. Pure. */
export function labelCss(label: LabelPolicy, fontUrl?: string): string {
  const font = cssFontName(label.fontFamily);
  const family = fontUrl ? "'TesseraBrandFont', system-ui, sans-serif" : font ? `'${font}', system-ui, sans-serif` : 'system-ui, sans-serif';
  const vars = (p: string, b: string, w: string, f: string) =>
    `  --color-primary: ${p};\n  --color-background: ${b};\n  --color-warn: ${w};\n  --color-text: ${f};\n`;
  return [
    fontUrl ? `@font-face { font-family: 'TesseraBrandFont'; src: url('${fontUrl}'); font-display: swap; }\n` : '',
    `:root {\n${vars(label.primaryColor, label.backgroundColor, label.warnColor, label.fontColor)}  --font-family: ${family};\n  color-scheme: light dark;\n}\n`,
    `@media (prefers-color-scheme: dark) {\n:root {\n${vars(label.primaryColorDark, label.backgroundColorDark, label.warnColorDark, label.fontColorDark)}}\n}\n`,
  ].join('');
}

/** Laid over views/assets/login.css: the page's colours and font come from the custom properties. */
export const themeRules = `body { background: var(--color-background); color: var(--color-text); font-family: var(--font-family); }
.card { background: color-mix(in srgb, var(--color-background) 85%, #ffffff); color: var(--color-text); }
button, .button { background: var(--color-primary); color: #ffffff; }
button.secondary { background: transparent; color: var(--color-text); border: 1px solid var(--color-primary); }
a { color: var(--color-primary); }
.error { color: var(--color-warn); }
.card p, .card li { overflow-wrap: anywhere; }
.logo { display: block; max-height: 48px; max-width: 100%; margin: 0 auto 16px; }
.legal { margin-top: 24px; font-size: 0.8em; display: flex; flex-wrap: wrap; gap: 12px; }
.legal .watermark { width: 100%; opacity: 0.7; margin: 0; }
.idps { display: grid; gap: 8px; margin-top: 16px; }
.idps a { display: block; text-align: center; padding: 10px; border: 1px solid var(--color-primary); border-radius: 4px; text-decoration: none; }
.codes { font-family: ui-monospace, monospace; columns: 2; }
.qr { display: block; margin: 12px auto; }
input.inline, label.inline { display: inline; width: auto; }
.accounts { list-style: none; padding: 0; }
button.account { text-align: left; }
button.account .muted { display: block; color: inherit; opacity: 0.8; font-size: 0.85em; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--color-primary); outline-offset: 2px; }
`;

/** The login name as shown: without the org's domain suffix when the label policy hides it. */
export function displayLoginName(loginName: string, label: Pick<LabelPolicy, 'hideLoginNameSuffix'>): string {
  if (!label.hideLoginNameSuffix) return loginName;
  const at = loginName.lastIndexOf('@');
  return at > 0 ? loginName.slice(0, at) : loginName;
}

/** Where the theme stylesheet and the uploaded assets are served (src/ui/assets.ts). */
export const BRANDING_PATH = '/ui/login/branding';

/** Where an uploaded asset is served: owner an org id or 'instance', v its upload time (the URL changes with each upload). */
export const assetPath = (owner: string, kind: string, v: number) => `${BRANDING_PATH}/${owner}/${kind}?v=${v}`;

/** From a Scope (straight from the database) or a provider's sign-in reads (cached until a change notice). */
export async function loadBranding(source: Scope | SignInReads, orgId: string | null): Promise<Branding> {
  const reads = readsOf(source);
  const [label, privacy, stamps, ownLabel, owner] = await Promise.all([
    reads.policy('label', orgId),
    reads.policy('privacy', orgId),
    reads.labelAssetStamps(orgId),
    orgId ? reads.orgPolicyOverride(orgId, 'label') : undefined,
    orgId ? reads.org(orgId) : reads.instance(),
  ]);
  const orgName = owner?.name ?? '';
  const assets: Partial<Record<AssetKind, string>> = {};
  for (const [kind, s] of stamps) assets[kind] = assetPath(s.owner, kind, s.v);
  // The theme's URL changes with the policy and the font, so it can be cached for long.
  // (A hash: the tail of the settings' base64, as before, did not change with the colours.)
  const themeVersion = createHash('sha256')
    .update(JSON.stringify([label, stamps.get('font')?.v ?? 0]))
    .digest('base64url')
    .slice(0, 16);
  // The theme is named by whose label policy and font it is: an org that has none of its own
  // links the instance's, so the stylesheet names no org the page does not visibly show.
  const themeOwner = ownLabel || (stamps.get('font')?.owner ?? 'instance') !== 'instance' ? orgId! : 'instance';
  return { orgId, orgName, label, privacy, assets, themeUrl: `${BRANDING_PATH}/${themeOwner}/theme.css?v=${themeVersion}` };
}
