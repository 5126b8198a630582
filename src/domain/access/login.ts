import type { Scope } from '../../db/scope.js';
import { listIdpLinksOfUser, listIdps } from '../idp/repository.js';
import { mfaStep, type MfaStep } from '../mfa/next-step.js';
import { hasVerifiedTotp } from '../mfa/service.js';
import { getOrg } from '../org/repository.js';
import { countPasskeysOfUser } from '../passkey/repository.js';
import { decideOrgContext } from '../policy/org-context.js';
import { getEffectivePolicy, getOrgPolicyOverride } from '../policy/service.js';
import type { ProjectRow } from '../project/repository.js';
import type { UserRow } from '../user/repository.js';

/**
 * The login a user meets on an application, once they have typed their login name: which org's
 * login policy applies (the project's private labeling setting, else the user's own org) and what
 * it asks of them. It follows the login pages' rules (login/org-context.ts, login/mfa.ts):
 * the same org-context decision and the same "second factor where the user has one or the policy
 * forces one" rule.
 */
export interface LoginExplanation {
  /** the org whose login policy applies; null: the instance's defaults */
  org: { id: string; name: string } | null;
  /** why that org: the project enforces its owner's policy, or the user's own org */
  source: 'project' | 'user' | 'instance';
  /** whether that org has a login policy of its own, or follows the instance default */
  policyOf: 'org' | 'instance';
  methods: {
    password: boolean;
    /** a passkey alone signs in (passwordlessType) */
    passkey: boolean;
    userPasskeys: number;
    /** the external IdPs the login page offers, and whether the user is linked to each */
    idps: { id: string; name: string; linked: boolean }[];
    register: boolean;
  };
  mfa: {
    forced: boolean;
    /** forced only after a local password, not after an external IdP */
    localOnly: boolean;
    secondFactors: string[];
    userHasTotp: boolean;
    /** what comes after the password: nothing, the authenticator's code, setting one up, or a refusal */
    afterPassword: MfaStep;
    afterIdp: MfaStep;
  };
}

export async function explainLogin(scope: Scope, user: UserRow, project: ProjectRow, defaultOrgId: string | null): Promise<LoginExplanation> {
  const context = decideOrgContext({
    project: { orgId: project.org_id, privateLabeling: project.private_labeling_setting },
    userOrgId: user.org_id,
    defaultOrgId,
  });
  const orgId = context.orgId;
  const [org, policy, override, totp, passkeys, links] = await Promise.all([
    orgId ? getOrg(scope, orgId) : undefined,
    getEffectivePolicy(scope, 'login', orgId),
    orgId ? getOrgPolicyOverride(scope, orgId, 'login') : undefined,
    hasVerifiedTotp({ scope }, user.id),
    countPasskeysOfUser(scope, user.id),
    listIdpLinksOfUser(scope, user.id),
  ]);
  let idps: LoginExplanation['methods']['idps'] = [];
  if (policy.allowExternalIdp && policy.idpIds.length) {
    const available = await listIdps(scope, { orgId });
    const linked = new Set(links.map((l) => l.idp_id));
    idps = policy.idpIds
      .map((id) => available.find((i) => i.id === id && i.state === 'active'))
      .filter((i) => i !== undefined)
      .map((i) => ({ id: i.id, name: i.name, linked: linked.has(i.id) }));
  }
  return {
    org: org ? { id: org.id, name: org.name } : null,
    source: context.source === 'project' ? 'project' : context.source === 'user' ? 'user' : 'instance',
    policyOf: override ? 'org' : 'instance',
    methods: {
      password: policy.allowUsernamePassword,
      passkey: policy.passwordlessType === 'allowed',
      userPasskeys: passkeys,
      idps,
      register: policy.allowRegister,
    },
    mfa: {
      forced: policy.forceMfa,
      localOnly: policy.forceMfaLocalOnly,
      secondFactors: [...policy.secondFactors],
      userHasTotp: totp,
      afterPassword: mfaStep(policy, totp, true),
      afterIdp: mfaStep(policy, totp, false),
    },
  };
}
