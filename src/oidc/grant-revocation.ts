import type { InstanceProvider } from './provider.js';
import { GRANT_BOUND } from './redis-adapter.js';

/**
 * Revokes grants through the provider's own storage: the grant and every token issued under it,
 * wherever the adapter keeps them (short-lived tokens live in Redis when it is configured), and
 * drops cached copies. The domain removes what PostgreSQL holds in the same change.
 */
export async function revokeGrants(oidc: InstanceProvider, grantIds: string[]): Promise<void> {
  const { provider } = oidc;
  for (const grantId of grantIds) {
    await provider.Grant.adapter.destroy(grantId);
    for (const model of GRANT_BOUND) await provider[model]?.adapter?.revokeByGrantId(grantId);
  }
}
