/**
 * The closed set of domain errors. Each carries a stable code that API clients can rely on;
 * src/http/errors.ts renders them as application/problem+json.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'unauthenticated'
  | 'precondition_failed'
  | 'conflict'
  | 'rule_violation'
  | 'rate_limited';

const statusByCode: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  conflict: 409,
  precondition_failed: 412,
  rule_violation: 422,
  rate_limited: 429,
};

export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** A narrower, stable reason, e.g. 'project_grant.roles_not_subset'. */
    readonly reason?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = statusByCode[code];
  }
}

export const notFound = (what: string, id?: string) =>
  new DomainError('not_found', id ? `${what} ${id} was not found` : `${what} was not found`, `${what.replace(/\s+/g, '_')}.not_found`);

export const ruleViolation = (reason: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('rule_violation', message, reason, details);

export const alreadyExists = (reason: string, message: string) => new DomainError('already_exists', message, reason);

export const invalidInput = (message: string, details?: Record<string, unknown>) => new DomainError('invalid_input', message, 'invalid_input', details);

export const permissionDenied = (permission: string) =>
  new DomainError('permission_denied', `missing permission ${permission}`, 'permission_denied', { permission });

/** Optimistic concurrency: the row moved on since the caller read it (If-Match, a form's hidden version). */
export const staleVersion = (current: number, expected: number) =>
  new DomainError('precondition_failed', `the resource is at version ${current}, not ${expected}`, 'precondition_failed', { currentVersion: current });
