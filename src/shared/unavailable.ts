/**
 * A dependency (Redis, PostgreSQL) cannot answer right now. Never an authentication failure:
 * the APIs answer 503 problem+json, the OpenID Provider 503 {"error":"temporarily_unavailable"}
 * (RFC 6749 §4.1.2.1 names that code), both with Retry-After.
 *
 * The fields oidc-provider reads (statusCode, expose, error_description, allow_redirect) let it
 * render this error as is, from inside any of its actions.
 */
export type Dependency = 'redis' | 'database';

export const RETRY_AFTER_S = 2;

export class ServiceUnavailable extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly allow_redirect = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description: string;
  readonly retryAfterS = RETRY_AFTER_S;

  constructor(
    readonly dependency: Dependency,
    cause?: unknown,
  ) {
    super('temporarily_unavailable', { cause });
    this.error_description = `the ${dependency === 'redis' ? 'cache (Redis)' : 'database'} is unreachable; retry in a moment`;
  }
}

const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether an error means the database could not be reached or went away (as opposed to a bad
 * query): refused or reset connections, a server shutting down, a pool that found no connection.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; name: string };
  if (e.name === 'KnexTimeoutError') return true;
  if (e.code && (PG_UNAVAILABLE.has(e.code) || NET_CODES.has(e.code))) return true;
  if (/Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(e.message)) return true;
  const nested = (e as { errors?: unknown[] }).errors;
  return Array.isArray(nested) && nested.some(isDatabaseUnavailable);
}

/** The error to show for an infrastructure failure, or undefined when it is something else. */
export function asUnavailable(err: unknown): ServiceUnavailable | undefined {
  if (err instanceof ServiceUnavailable) return err;
  if (isDatabaseUnavailable(err)) return new ServiceUnavailable('database', err);
  return undefined;
}
