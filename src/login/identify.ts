import { getEffectivePolicy } from '../domain/policy/service.js';
import { loginNames, userByLoginName, type UserRow } from '../domain/sign-in.js';
import type { Step } from './interaction.js';
import { completeLoginName, userFitsContext, type OrgContext } from './org-context.js';

/**
 * The user a typed login name means under this org context: completed with the org's domain
 * where it must be, refused when it is an email and the user's org disables email login, and
 * refused when an org scope admits only its own users (whatever login_hint said).
 */
export async function identify(step: Step, org: OrgContext, typed: string): Promise<{ user?: UserRow; loginName: string }> {
  const scope = step.oidc.scope;
  const loginName = await completeLoginName(scope, org, typed);
  let user = await userByLoginName(scope, loginName);
  if (user && user.type !== 'human') user = undefined;
  if (user && !userFitsContext(org, user)) user = undefined;
  if (user && user.email?.toLowerCase() === loginName.toLowerCase()) {
    const names = (await loginNames(scope, user)).map((n) => n.toLowerCase());
    if (!names.includes(loginName.toLowerCase()) && (await getEffectivePolicy(scope, 'login', user.org_id)).disableLoginWithEmail) user = undefined;
  }
  return { user, loginName };
}
