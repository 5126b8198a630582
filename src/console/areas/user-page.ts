import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { unlinkUser } from '../../domain/idp/service.js';
import { removeTotp } from '../../domain/mfa/service.js';
import { removePasskey } from '../../domain/passkey/service.js';
import { endSignInSession } from '../../domain/session/service.js';
import { orgUser, userDeletionImpact, userDetails } from '../../domain/user/queries.js';
import {
  addMachineKey,
  addPersonalAccessToken,
  deactivateUser,
  deleteUser,
  generateMachineSecret,
  lockUser,
  reactivateUser,
  removeMachineKey,
  removeMachineSecret,
  removePersonalAccessToken,
  removeUserMetadata,
  setUserMetadata,
  unlockUser,
  updateUserProfile,
} from '../../domain/user/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { errorMessage, optional, parseForm, refusal, required, text, version, type FieldErrors } from '../forms.js';
import type { ConsoleDeps } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * A user's page: login names, state, verification, MFA, grants, memberships, metadata, sign-in
 * sessions and external identities, with the actions the caller may take on them. Every action
 * first reads the user through orgUser (so a user of another org, or one the caller may not read,
 * is a 404), then calls the user domain's service, which checks the permission again.
 */
const profileForm = z.object({
  version,
  email: optional(320),
  givenName: optional(),
  familyName: optional(),
  displayName: optional(),
  phone: optional(50),
  name: optional(),
  description: optional(1000),
});
const metadataForm = z.object({ key: required(200), value: text(65536) });
const idForm = z.object({ id: required(100) });
const linkForm = z.object({ idpId: required(100), externalUserId: required(500) });
const versionForm = z.object({ version });

type Params = { orgId: string; userId: string };
const params = (ctx: Context) => (ctx as unknown as { params: Params }).params;

async function userPage(ctx: Context, state: { form?: string; values?: Record<string, unknown>; errors?: FieldErrors } = {}, status = 200) {
  const c = consoleState(ctx);
  const details = await userDetails(c.svc, c.org!.id, params(ctx).userId);
  const orgId = c.org!.id;
  await renderConsole(
    ctx,
    'user',
    {
      d: details,
      u: details.user,
      form: state.form,
      values: state.values ?? {},
      errors: state.errors ?? {},
      can: {
        write: c.perms.can('user.write', { orgId }),
        delete: c.perms.can('user.delete', { orgId }),
        credentials: c.perms.can('user.credential.write', { orgId }),
      },
    },
    { titleKey: 'user.title', titleVars: { name: details.preferredLoginName }, navKey: 'users', status },
  );
}

/** One-button actions: run, then back to the user's page with a message (a refusal becomes the message). */
async function action(ctx: Context, run: () => Promise<unknown>, okKey: string): Promise<void> {
  const c = consoleState(ctx);
  try {
    await run();
    await flash(ctx, 'ok', c.t(okKey));
  } catch (err) {
    if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
    await flash(ctx, 'error', errorMessage(ctx, err));
  }
  ctx.redirect(paths.user(c.org!.id, params(ctx).userId));
}

/** A secret that exists only now: shown on this response, never again (no redirect, no cache). */
async function shownOnce(ctx: Context, headingKey: string, items: { label: string; value: string; multiline?: boolean }[]) {
  const c = consoleState(ctx);
  await renderConsole(
    ctx,
    'shown-once',
    { heading: c.t(headingKey), items, back: paths.user(c.org!.id, params(ctx).userId) },
    { titleKey: headingKey, navKey: 'users' },
  );
}

export function userPageRoutes(router: Router, d: ConsoleDeps): void {
  const base = '/orgs/:orgId/users/:userId';
  /** The user, in this org, readable by the caller; else 404. */
  const user = (ctx: Context) => orgUser(consoleState(ctx).svc, consoleState(ctx).org!.id, params(ctx).userId);

  router.get(base, inOrg, (ctx) => userPage(ctx));

  router.post(`${base}/profile`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const u = await user(ctx);
    const form = parseForm(ctx, profileForm);
    if (!form.ok) return userPage(ctx, { form: 'profile', ...form }, 400);
    const { version: v, ...f } = form.data;
    const patch =
      u.type === 'human'
        ? { email: f.email, givenName: f.givenName ?? null, familyName: f.familyName ?? null, displayName: f.displayName ?? null, phone: f.phone ?? null }
        : { name: f.name, description: f.description ?? null };
    if (u.type === 'human' && !f.email) return userPage(ctx, { form: 'profile', values: form.data, errors: { email: c.t('form.required') } }, 400);
    if (u.type === 'human' && f.phone === (u.phone ?? undefined)) delete (patch as { phone?: unknown }).phone; // unchanged: keep its verification
    try {
      await atVersion(c.svc, 'user', u.id, v, (svc) => updateUserProfile(svc, u.id, patch));
    } catch (err) {
      return userPage(ctx, { form: 'profile', values: form.data, errors: refusal(ctx, err, { invalid_input: 'email' }) }, 409);
    }
    await flash(ctx, 'ok', c.t('user.saved'));
    ctx.redirect(paths.user(c.org!.id, u.id));
  });

  for (const [name, fn] of [
    ['lock', lockUser],
    ['unlock', unlockUser],
    ['deactivate', deactivateUser],
    ['reactivate', reactivateUser],
  ] as const) {
    router.post(`${base}/${name}`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const u = await user(ctx);
      const form = parseForm(ctx, versionForm);
      await action(ctx, () => atVersion(c.svc, 'user', u.id, form.ok ? form.data.version : undefined, (svc) => fn(svc, u.id)), `user.${name}ed`);
    });
  }

  router.post(`${base}/invite`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const u = await user(ctx);
    // Only a manager who could create the user may send them an invitation.
    await action(
      ctx,
      async () => {
        if (!c.perms.can('user.write', { orgId: u.org_id })) throw new DomainError('permission_denied', 'missing permission user.write');
        if (u.state !== 'initial') throw new DomainError('rule_violation', 'the user has already set a password', 'user.not_initial');
        await d.notifier.initialPassword(c.svc.scope, u.id, ctx.state.origin);
      },
      'user.invited',
    );
  });

  router.get(`${base}/delete`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const impact = await userDeletionImpact(c.svc, c.org!.id, params(ctx).userId);
    await renderConsole(ctx, 'user-delete', { impact }, { titleKey: 'user.deleteTitle', titleVars: { name: impact.preferredLoginName }, navKey: 'users' });
  });

  router.post(`${base}/delete`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const u = await user(ctx);
    const form = parseForm(ctx, versionForm);
    try {
      await atVersion(c.svc, 'user', u.id, form.ok ? form.data.version : undefined, (svc) => deleteUser(svc, u.id));
    } catch (err) {
      if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
      await flash(ctx, 'error', errorMessage(ctx, err));
      ctx.redirect(paths.user(c.org!.id, u.id));
      return;
    }
    await flash(ctx, 'ok', c.t('user.deleted', { name: u.username }));
    ctx.redirect(paths.users(c.org!.id));
  });

  router.post(`${base}/mfa/totp/reset`, inOrg, async (ctx) => {
    const u = await user(ctx);
    await action(ctx, () => removeTotp(consoleState(ctx).svc, u.id), 'user.totpWasReset');
  });

  router.post(`${base}/mfa/passkeys/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, idForm);
    await action(
      ctx,
      async () => {
        if (form.ok) await removePasskey(consoleState(ctx).svc, u.id, form.data.id);
      },
      'user.passkeyRemoved',
    );
  });

  router.post(`${base}/sessions/end`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, idForm);
    if (!form.ok) {
      ctx.redirect(paths.user(u.org_id, u.id));
      return;
    }
    await action(ctx, () => endSignInSession(consoleState(ctx).svc, u.id, form.data.id), 'user.sessionEnded');
  });

  router.post(`${base}/metadata`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const u = await user(ctx);
    const form = parseForm(ctx, metadataForm);
    if (!form.ok) return userPage(ctx, { form: 'metadata', ...form }, 400);
    try {
      await setUserMetadata(c.svc, u.id, form.data.key, form.data.value);
    } catch (err) {
      return userPage(ctx, { form: 'metadata', values: form.data, errors: refusal(ctx, err, { invalid_input: 'key' }) }, 400);
    }
    await flash(ctx, 'ok', c.t('user.metadataSaved'));
    ctx.redirect(paths.user(c.org!.id, u.id));
  });

  router.post(`${base}/metadata/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, z.object({ key: required(200) }));
    await action(
      ctx,
      async () => {
        if (form.ok) await removeUserMetadata(consoleState(ctx).svc, u.id, form.data.key);
      },
      'user.metadataRemoved',
    );
  });

  router.post(`${base}/idp-links/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, linkForm);
    const links = (await userDetails(consoleState(ctx).svc, u.org_id, u.id)).idpLinks;
    await action(
      ctx,
      async () => {
        if (!form.ok || !links.some((l) => l.idp_id === form.data.idpId && l.external_user_id === form.data.externalUserId)) return;
        await unlinkUser(consoleState(ctx).svc, form.data);
      },
      'user.linkRemoved',
    );
  });

  // ---- machine users: secret, keys and personal access tokens, each shown once ----
  router.post(`${base}/secret`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const { clientId, clientSecret } = await generateMachineSecret(consoleState(ctx).svc, u.id);
    await shownOnce(ctx, 'machine.secretTitle', [
      { label: 'Client ID', value: clientId },
      { label: 'Client secret', value: clientSecret },
    ]);
  });
  router.post(`${base}/secret/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    await action(ctx, () => removeMachineSecret(consoleState(ctx).svc, u.id), 'machine.secretRemoved');
  });
  router.post(`${base}/keys`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const key = await addMachineKey(consoleState(ctx).svc, u.id);
    await shownOnce(ctx, 'machine.keyTitle', [
      { label: 'Key ID', value: key.keyId },
      { label: 'Key file (JSON)', value: key.keyJson, multiline: true },
    ]);
  });
  router.post(`${base}/keys/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, idForm);
    await action(
      ctx,
      async () => {
        if (form.ok) await removeMachineKey(consoleState(ctx).svc, u.id, form.data.id);
      },
      'machine.keyRemoved',
    );
  });
  router.post(`${base}/pats`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const pat = await addPersonalAccessToken(consoleState(ctx).svc, u.id);
    await shownOnce(ctx, 'machine.patTitle', [{ label: 'Token', value: pat.token }]);
  });
  router.post(`${base}/pats/remove`, inOrg, async (ctx) => {
    const u = await user(ctx);
    const form = parseForm(ctx, idForm);
    await action(
      ctx,
      async () => {
        if (form.ok) await removePersonalAccessToken(consoleState(ctx).svc, u.id, form.data.id);
      },
      'machine.patRemoved',
    );
  });
}
