import type { Scope } from '../../db/scope.js';

export type UserState = 'initial' | 'active' | 'inactive' | 'locked';

export interface UserRow {
  id: string;
  org_id: string;
  type: 'human' | 'machine';
  username: string;
  state: UserState;
  email: string | null;
  email_verified: boolean;
  phone: string | null;
  phone_verified: boolean;
  given_name: string | null;
  family_name: string | null;
  display_name: string | null;
  nick_name: string | null;
  preferred_language: string | null;
  password_hash: string | null;
  password_changed_at: Date | null;
  password_change_required: boolean;
  failed_password_attempts: number;
  name: string | null;
  description: string | null;
  access_token_type: 'jwt' | 'opaque';
  client_secret_hash: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type NewUser = Partial<Omit<UserRow, 'version' | 'created_at' | 'updated_at'>> & Pick<UserRow, 'id' | 'org_id' | 'type' | 'username'>;

export async function insertUser(scope: Scope, row: NewUser): Promise<void> {
  await scope.insert('users', row);
}

export async function getUser(scope: Scope, id: string): Promise<UserRow | undefined> {
  return scope.table('users').where({ id }).first();
}
