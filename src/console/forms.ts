import type { Context } from 'koa';
import { z } from 'zod';
import { DomainError } from '../shared/errors.js';
import type { PageParams } from '../db/paging.js';
import { consoleState, flash } from './context.js';
import { hasMessage } from './i18n.js';

/**
 * Forms: parse with zod, and on bad input give back the user's values with one message per
 * field. Schemas carry catalogue keys as their messages (e.g. 'form.required'), so every message
 * is translated. A DomainError the service raises maps to a field by its reason, or to the form.
 */
export type FieldErrors = Record<string, string>;
/** `values`: what was typed, as typed (for a form shown again after the service refused it). */
export type Parsed<T> = { ok: true; data: T; values: Record<string, unknown> } | { ok: false; values: Record<string, unknown>; errors: FieldErrors };

export const text = (max = 200) => z.string().trim().max(max, 'form.tooLong');
export const required = (max = 200) => text(max).min(1, 'form.required');
export const optional = (max = 200) =>
  text(max)
    .optional()
    .transform((v) => (v === '' ? undefined : v));
export const version = z.coerce.number().int().min(1).optional();
/** A policy form's version: 0 when the org had no policy of its own yet (atPolicyVersion), so an override made meanwhile is noticed. */
export const policyVersion = z.coerce.number().int().min(0).optional();
/** A checkbox: present (any value) is true, absent is false. */
export const checkbox = z.preprocess((v) => v !== undefined && v !== '' && v !== 'false', z.boolean());
/** Checkboxes sharing a name: none, one or many values, as a list. */
export const checked = (max = 500) =>
  z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(200, 'form.tooLong')).max(max));
/** Lines of a textarea as a list, blank lines dropped. */
export const lines = (max = 100) =>
  z
    .string()
    .max(20_000, 'form.tooLong')
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).max(max, 'form.tooMany'));

export function formBody(ctx: Context): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  return body && typeof body === 'object' ? { ...(body as Record<string, unknown>) } : {};
}

export function parseForm<S extends z.ZodType>(ctx: Context, schema: S): Parsed<z.output<S>> {
  const values = formBody(ctx);
  delete values._csrf;
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data, values };
  const { t } = consoleState(ctx);
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? '_form');
    errors[field] ??= t(issue.message.startsWith('form.') ? issue.message : 'form.invalid');
  }
  return { ok: false, values, errors };
}

/**
 * A service's refusal as form errors: the field its reason belongs to (`fields`), else the whole
 * form. Anything that is not a DomainError is not the user's input: rethrown.
 */
export function refusal(ctx: Context, err: unknown, fields: Record<string, string> = {}): FieldErrors {
  if (!(err instanceof DomainError)) throw err;
  if (err.code === 'not_found' || err.code === 'permission_denied') throw err;
  return { [fields[err.reason ?? ''] ?? '_form']: errorMessage(ctx, err) };
}

/**
 * A one-button action (deactivate, remove…): run it, then back to `back` with a message; a refusal
 * becomes the message. What the caller may not see or do stays a 404.
 */
export async function buttonAction(ctx: Context, run: () => Promise<unknown>, okText: string, back: string): Promise<void> {
  try {
    await run();
    await flash(ctx, 'ok', okText);
  } catch (err) {
    if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
    await flash(ctx, 'error', errorMessage(ctx, err));
  }
  ctx.redirect(back);
}

/** The user-facing text of a service's refusal, in the visitor's language where the catalogue has it. */
export function errorMessage(ctx: Context, err: DomainError): string {
  const c = consoleState(ctx);
  if (err.code === 'precondition_failed') return c.t('error.stale');
  const key = `error.${err.reason ?? err.code}`;
  return hasMessage(c.locale, key) ? c.t(key) : err.message;
}

/** ?page=&size=&sort=&dir= of a list page, with the sort limited to what the list offers. */
export function listParams(ctx: Context, sortable: readonly string[], fallback: string): PageParams & { page: number; size: number } {
  const q = ctx.query;
  const size = [10, 20, 50, 100].includes(Number(q.size)) ? Number(q.size) : 20;
  const page = Math.max(1, Math.min(100_000, Number.parseInt(String(q.page ?? '1'), 10) || 1));
  const sort = sortable.includes(String(q.sort)) ? String(q.sort) : fallback;
  return { page, size, offset: (page - 1) * size, limit: size, sort, asc: q.dir !== 'desc' };
}

/** The links of a pager: the query kept, the page changed. */
export function pager(ctx: Context, total: number, p: { page: number; size: number }) {
  const pages = Math.max(1, Math.ceil(total / p.size));
  const link = (page: number) => {
    const q = new URLSearchParams(ctx.querystring);
    q.set('page', String(page));
    return `${ctx.path}?${q.toString()}`;
  };
  return { total, page: p.page, pages, prev: p.page > 1 ? link(p.page - 1) : undefined, next: p.page < pages ? link(p.page + 1) : undefined };
}

/** The link that sorts a list by `field` (toggling the direction when it is already sorted so). */
export function sortLink(ctx: Context, field: string, current: { sort?: string; asc: boolean }): { href: string; dir?: 'ascending' | 'descending' } {
  const q = new URLSearchParams(ctx.querystring);
  const same = current.sort === field;
  q.set('sort', field);
  q.set('dir', same && current.asc ? 'desc' : 'asc');
  q.delete('page');
  return { href: `${ctx.path}?${q.toString()}`, dir: same ? (current.asc ? 'ascending' : 'descending') : undefined };
}
