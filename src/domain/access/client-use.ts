import type { Scope } from '../../db/scope.js';
import { getProject } from '../project/repository.js';
import { userHasProjectAccess } from '../user-grant/repository.js';
import { activeGrantExpiries, principalStates } from './repository.js';

/**
 * May this user (still) use this client? Asked when a login finishes, and again, at the time of
 * the call, by introspection, userinfo and the refresh grant: a token outlives its sign-in, and
 * whatever would refuse the sign-in now must refuse the token too. The one place for the rule:
 *
 * - the user exists and is active (not locked, deactivated or still initial), and so is their org;
 * - the client's project's checks hold: hasProjectCheck (the user's org owns the
 *   project or holds an active grant of it), projectRoleCheck (the user holds an active, unexpired
 *   grant on it).
 *
 * Whether the client itself is still active is the client directory's part (an inactive app or
 * machine user is no client at all). The user's and org's states (`rememberStates`) and the
 * project checks (`remember`) are kept in the oidc claims cache: dropped by PostgreSQL's notice
 * on every write to the tables they read, in every process as the write commits (and at the
 * earliest expiry of the grants they rest on); the API waits for its own notices after each
 * write, so a user locked through it is refused by the next call.
 */
export type ClientUseRefusal = 'user_inactive' | 'org_inactive' | 'has_project_check_failed' | 'project_role_check_failed';

export type ProjectCheckRefusal = Extract<ClientUseRefusal, 'has_project_check_failed' | 'project_role_check_failed'>;

/** A project check's outcome and until when it holds without a write (epoch ms; the earliest grant expiry). */
export interface ProjectCheckResult {
  refusal?: ProjectCheckRefusal;
  validUntil?: number;
}

/** Keeps a project check's outcome for (user, project) until a write or its validUntil; absent: always read. */
export type RememberProjectCheck = (userId: string, projectId: string, load: () => Promise<ProjectCheckResult>) => Promise<ProjectCheckResult>;

/** The user's and their org's states, as principalStates reads them. */
export type PrincipalStates = Awaited<ReturnType<typeof principalStates>>;

/** Keeps the user's and org's states until a write to either (absent: always read). */
export type RememberStates = (userId: string, load: () => Promise<{ states: PrincipalStates }>) => Promise<{ states: PrincipalStates }>;

export interface ClientUseRequest {
  userId: string;
  /** the client's project; machine clients and Tessera's own apps have none */
  projectId?: string;
  remember?: RememberProjectCheck;
  rememberStates?: RememberStates;
}

export async function clientUseRefusal(scope: Scope, req: ClientUseRequest): Promise<ClientUseRefusal | undefined> {
  const load = async () => ({ states: await principalStates(scope, req.userId) });
  const who = (await (req.rememberStates ? req.rememberStates(req.userId, load) : load())).states;
  if (!who || who.userState !== 'active') return 'user_inactive';
  if (who.orgState !== 'active') return 'org_inactive';
  if (!req.projectId) return undefined;
  const projectId = req.projectId;
  const check = () => projectCheck(scope, req.userId, who.orgId, projectId);
  return (await (req.remember ? req.remember(req.userId, projectId, check) : check())).refusal;
}

async function projectCheck(scope: Scope, userId: string, userOrgId: string, projectId: string): Promise<ProjectCheckResult> {
  const project = await getProject(scope, projectId);
  // An app always has its project (foreign key); a project gone mid-flight refuses nothing more than its app's absence does.
  if (!project) return {};
  if (project.has_project_check && !(await userHasProjectAccess(scope, { userId, userOrgId, projectId }))) return { refusal: 'has_project_check_failed' };
  if (!project.project_role_check) return {};
  const expiries = await activeGrantExpiries(scope, userId, projectId);
  if (expiries.length === 0) return { refusal: 'project_role_check_failed' };
  // Valid while any grant is: the latest expiry, unless one never expires.
  return { validUntil: expiries.includes(null) ? undefined : Math.max(...(expiries as number[])) };
}
