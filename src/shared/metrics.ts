/**
 * What the rest of Tessera reports to the metrics (src/ops/metrics.ts implements it with
 * prom-client). Every label value is one of a small fixed set: no user, client or instance ids.
 * Modules receive it from the composition root; `noMetrics` serves tests and the CLI.
 */
export type CacheName = 'clients' | 'settings' | 'claims' | 'client_use' | 'caller' | 'durable' | 'sign_in';
export type SignInOutcome = 'success' | 'failure';
export type MailOutcome = 'sent' | 'failed';
export type RefreshReuse = 'grace' | 'revoked';

export interface Metrics {
  cache(name: CacheName, hit: boolean): void;
  /** reason: a short stable code such as 'password_invalid', 'user_not_found', 'throttled'; 'ok' on success */
  signIn(outcome: SignInOutcome, reason: string): void;
  tokenIssued(grantType: string): void;
  providerBuilt(ok: boolean): void;
  mail(outcome: MailOutcome): void;
  refreshReuse(outcome: RefreshReuse): void;
  /** a short-lived write or read served by PostgreSQL because Redis was unreachable */
  redisFallback(operation: 'write' | 'read'): void;
  /** reports the provider pool's size when metrics are collected */
  watchProviderPool(size: () => number): void;
}

export const noMetrics: Metrics = {
  cache() {},
  signIn() {},
  tokenIssued() {},
  providerBuilt() {},
  mail() {},
  refreshReuse() {},
  redisFallback() {},
  watchProviderPool() {},
};
