/** Who is acting. Services authorize it and name it in audit events. */
export type Principal =
  | { type: 'user'; userId: string; orgId: string }
  | { type: 'system' } // the System API and start-up bootstrap
  | { type: 'cli' }; // `tessera apply`: the operator, trusted like the system

export const systemPrincipal: Principal = { type: 'system' };
export const cliPrincipal: Principal = { type: 'cli' };
