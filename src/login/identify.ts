import { resolveTypedName, type SecondFactors, type UserRow } from '../domain/sign-in.js';
import type { Step } from './interaction.js';
import { completeLoginName, userFitsContext, type OrgContext } from './org-context.js';

/**
 * The user a typed login name means under this org context: completed with the org's domain
 * where it must be, refused when it is an email and the user's org disables email login, and
 * refused when an org scope admits only its own users (whatever login_hint said). With
 * `secondFactorsAt`, also the user's second factors for that relying party (same query).
 */
export async function identify(
  step: Step,
  org: OrgContext,
  typed: string,
  opts: { secondFactorsAt?: string } = {},
): Promise<{ user?: UserRow; loginName: string; secondFactors?: SecondFactors }> {
  const scope = step.oidc.scope;
  const loginName = await completeLoginName(step.oidc.signIn, org, typed);
  const found = await resolveTypedName(scope, loginName, opts);
  let user = found.user;
  if (user && user.type !== 'human') user = undefined;
  if (user && !userFitsContext(org, user)) user = undefined;
  // Matched as an email only when it is none of anyone's login names (resolveLoginName's order).
  if (user && found.via === 'email' && (await step.oidc.signIn.policy('login', user.org_id)).disableLoginWithEmail) user = undefined;
  return user ? { user, loginName, secondFactors: found.secondFactors } : { loginName };
}
