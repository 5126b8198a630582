import type { Scope } from '../../db/scope.js';
import { newId } from '../../shared/ids.js';

export type MembershipLevel = 'instance' | 'org' | 'project' | 'project_grant';

export interface MembershipRow {
  id: string;
  user_id: string;
  level: MembershipLevel;
  org_id: string | null;
  project_id: string | null;
  project_grant_id: string | null;
  roles: string[];
  version: number;
}

export async function insertMembership(scope: Scope, row: Omit<MembershipRow, 'id' | 'version'>): Promise<string> {
  const id = newId();
  await scope.insert('memberships', { id, ...row });
  return id;
}

export async function listMembershipsOfUser(scope: Scope, userId: string): Promise<MembershipRow[]> {
  return scope.table('memberships').where({ user_id: userId });
}
