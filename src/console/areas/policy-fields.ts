import { z } from 'zod';
import { policySchemas, type PolicyKind } from '../../domain/policy/schemas.js';
import type { FieldErrors } from '../forms.js';
import type { Translate } from '../i18n.js';

/**
 * A policy's form, derived from the kind's own zod schema (src/domain/policy/schemas.ts), so
 * every field the API has is on the page, and a field added there shows up here: a checkbox for
 * a boolean, a number box, a select for a choice, checkboxes for a list of choices (and for the
 * IdPs a login policy offers). Labels and help texts are `policy.{kind}.{field}` and `….help`.
 */
export type PolicyFieldKind = 'boolean' | 'number' | 'choice' | 'choices' | 'idps' | 'text';
export interface PolicyField {
  name: string;
  kind: PolicyFieldKind;
  options?: readonly string[];
}

/** The kinds the Policies area edits (the label and privacy policies are the Branding area's). */
export const editedKinds = ['login', 'password_complexity', 'lockout', 'domain', 'notification'] as const satisfies readonly PolicyKind[];
export type EditedKind = (typeof editedKinds)[number];

function inner(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema;
}

export function policyFields(kind: PolicyKind): PolicyField[] {
  const shape = policySchemas[kind].shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, s]) => {
    const schema = inner(s);
    if (schema instanceof z.ZodBoolean) return { name, kind: 'boolean' };
    if (schema instanceof z.ZodNumber) return { name, kind: 'number' };
    if (schema instanceof z.ZodEnum) return { name, kind: 'choice', options: schema.options as string[] };
    if (schema instanceof z.ZodArray) {
      const element = schema.element as z.ZodType;
      if (element instanceof z.ZodEnum) return { name, kind: 'choices', options: element.options as string[] };
      return { name, kind: 'idps' };
    }
    return { name, kind: 'text' };
  });
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/**
 * The posted form as the kind's settings: checkboxes absent are false, numbers parsed, lists
 * gathered. Then the kind's own schema decides, and each problem lands on its field.
 */
export function parsePolicyForm(
  kind: PolicyKind,
  body: Record<string, unknown>,
  t: Translate,
): { ok: true; settings: Record<string, unknown> } | { ok: false; values: Record<string, unknown>; errors: FieldErrors } {
  const values: Record<string, unknown> = {};
  for (const f of policyFields(kind)) {
    const raw = body[f.name];
    if (f.kind === 'boolean') values[f.name] = raw !== undefined && raw !== '' && raw !== 'false';
    else if (f.kind === 'choices' || f.kind === 'idps') values[f.name] = asList(raw);
    else if (f.kind === 'number') {
      const text = String(raw ?? '').trim();
      values[f.name] = /^-?\d+$/.test(text) ? Number(text) : text;
    } else values[f.name] = typeof raw === 'string' ? raw.trim() : '';
  }
  const parsed = policySchemas[kind].safeParse(values);
  if (parsed.success) return { ok: true, settings: parsed.data as Record<string, unknown> };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? '_form');
    errors[field] ??= issueMessage(issue, t);
  }
  return { ok: false, values, errors };
}

function issueMessage(issue: z.core.$ZodIssue, t: Translate): string {
  if (issue.code === 'too_small') return t('form.min', { n: String(issue.minimum) });
  if (issue.code === 'too_big') return t('form.max', { n: String(issue.maximum) });
  if (issue.code === 'invalid_type' && issue.expected === 'number') return t('form.number');
  if (issue.code === 'invalid_union' || issue.code === 'invalid_format') return t('form.url');
  return t('form.invalid');
}
