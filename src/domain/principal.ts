/** Who is acting. Services authorize it and name it in audit events. */
export type Principal =
  | {
      type: 'user';
      userId: string;
      orgId: string;
      /**
       * When the user last proved who they are (epoch seconds): the auth_time of the sign-in behind
       * the session or access token. Absent where nobody signed in (personal access tokens);
       * changes to the user's own factors need it recent (src/domain/recent-sign-in.ts).
       */
      authTime?: number;
    }
  | { type: 'system' } // the System API and start-up bootstrap
  | { type: 'cli' }; // `tessera apply`: the operator, trusted like the system

export const systemPrincipal: Principal = { type: 'system' };
export const cliPrincipal: Principal = { type: 'cli' };
