import type { Knex } from 'knex';
import type { Permission } from '../../authz/index.js';
import { Scope } from '../../db/scope.js';
import { notFound, permissionDenied } from '../../shared/errors.js';
import { authorize } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import type { Principal } from '../principal.js';
import { getInstance, listInstanceDomains, listInstanceIds, type InstanceDomainRow, type InstanceRow } from './repository.js';
import { getSmtpSettings, type SmtpSettings } from './settings.js';

export type { InstanceRow, InstanceDomainRow } from './repository.js';

/** The instance of the call, for a caller holding `permission` (iam.read unless named). */
export async function readInstance(ctx: ServiceContext, permission: Permission = 'iam.read'): Promise<InstanceRow> {
  await authorize(ctx, permission, {});
  const row = await getInstance(ctx.scope);
  if (!row) throw notFound('instance', ctx.scope.instanceId);
  return row;
}

/** The stored SMTP settings with the password, to send a test mail: needs iam.write, like changing them. */
export async function smtpSettingsToTest(ctx: ServiceContext): Promise<(SmtpSettings & { password: string | null }) | undefined> {
  await authorize(ctx, 'iam.write', {});
  return getSmtpSettings(ctx.scope, ctx.deps.box);
}

// ---- the installation, for its operator (the System API's system keys, the CLI) ----

function requireOperator(actor: Principal): void {
  if (actor.type === 'user') throw permissionDenied('system');
}

/** Every instance's id, oldest first. */
export async function allInstanceIds(knex: Knex, actor: Principal): Promise<string[]> {
  requireOperator(actor);
  return listInstanceIds(knex);
}

/** An instance with its domains, primary first; not_found for an unknown id. */
export async function instanceWithDomains(knex: Knex, actor: Principal, instanceId: string): Promise<{ instance: InstanceRow; domains: InstanceDomainRow[] }> {
  requireOperator(actor);
  const scope = new Scope(knex, instanceId);
  const instance = await getInstance(scope);
  if (!instance) throw notFound('instance', instanceId);
  return { instance, domains: await listInstanceDomains(scope) };
}

/**
 * The instance's own settings for the console, for instance administrators (iam.read). The SMTP
 * password never leaves: callers see only whether one is set.
 */
export interface InstanceView extends Omit<InstanceRow, 'smtp_password_enc'> {
  hasSmtpPassword: boolean;
}

export async function instanceSettings(ctx: ServiceContext): Promise<{ instance: InstanceView; domains: InstanceDomainRow[] }> {
  const { smtp_password_enc, ...instance } = await readInstance(ctx);
  return { instance: { ...instance, hasSmtpPassword: Boolean(smtp_password_enc) }, domains: await listInstanceDomains(ctx.scope) };
}
