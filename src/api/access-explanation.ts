import { z } from 'zod';

/**
 * The API's shape of the access explanation (src/domain/access/explanation.ts builds it): why a
 * token for this user and this application would carry the roles it carries, whether the
 * project's checks would let the login through, and the login policy the user would meet.
 */
const chainLink = z
  .object({
    userGrantId: z.string(),
    givingOrg: z.object({ id: z.string(), name: z.string(), primaryDomain: z.string() }),
    via: z.enum(['project_owner', 'project_grant']),
    projectGrantId: z.string().nullable(),
    project: z.object({ id: z.string(), name: z.string(), ownerOrgId: z.string() }),
  })
  .meta({ id: 'RoleChain' });

const mfaStep = z.enum(['none', 'code', 'setup', 'refused']).meta({
  description:
    "none; code: the authenticator's code is asked; setup: the user must set up an authenticator; refused: the policy forces a second factor but allows none",
});

const loginPolicy = z
  .object({
    org: z.object({ id: z.string(), name: z.string() }).nullable().meta({ description: 'the org whose login policy applies; null: the instance defaults' }),
    source: z
      .enum(['project', 'user', 'instance'])
      .meta({ description: "project: the project enforces its owner's policy (private labeling); user: the user's own org" }),
    policyOf: z.enum(['org', 'instance']).meta({ description: 'whether that org has a login policy of its own or follows the instance default' }),
    methods: z.object({
      password: z.boolean(),
      passkey: z.boolean(),
      userPasskeys: z.number().int(),
      idps: z.array(z.object({ id: z.string(), name: z.string(), linked: z.boolean() })),
      register: z.boolean(),
    }),
    mfa: z.object({
      forced: z.boolean(),
      localOnly: z.boolean(),
      secondFactors: z.array(z.string()),
      userHasTotp: z.boolean(),
      afterPassword: mfaStep,
      afterIdp: mfaStep,
    }),
  })
  .meta({ id: 'LoginExplanation', description: 'the login the user meets on this application once they have typed their login name' });

export const accessExplanationSchema = z
  .object({
    userId: z.string(),
    clientId: z.string(),
    projectId: z.string(),
    names: z.object({ user: z.string(), application: z.string(), project: z.string(), projectOwnerOrg: z.string() }),
    roles: z.array(z.object({ key: z.string(), grantedBy: z.array(chainLink) })),
    rolesClaim: z.record(z.string(), z.record(z.string(), z.string())).meta({ description: 'urn:zitadel:iam:org:project:roles as a token would carry it' }),
    roleAssertion: z.object({
      projectRoleAssertion: z.boolean().meta({ description: 'roles are added without a role scope' }),
      idTokenRoleAssertion: z.boolean(),
      accessTokenRoleAssertion: z.boolean(),
    }),
    ignoredGrants: z
      .array(
        z.object({
          userGrantId: z.string(),
          givingOrgId: z.string(),
          code: z.string().meta({ description: 'a stable code for the reason' }),
          reason: z.string(),
          expiredAt: z.string().optional(),
        }),
      )
      .meta({ description: "the user's grants on the project that give nothing now, and why" }),
    login: z.object({
      allowed: z.boolean(),
      checks: z.array(
        z.object({
          check: z.string(),
          enabled: z.boolean(),
          passed: z.boolean(),
          reason: z.string(),
          state: z.string().optional(),
          userOrgName: z.string().optional(),
          via: z.enum(['owner', 'grant']).optional(),
        }),
      ),
    }),
    loginPolicy,
  })
  .meta({ id: 'AccessExplanation' });
