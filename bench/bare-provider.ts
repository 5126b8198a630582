/**
 * The yardstick: a bare oidc-provider (in-memory storage, one static client), started as its
 * own process by bench/run.ts. Prints one JSON line with a userinfo-capable access token.
 */
import Provider from 'oidc-provider';
import { memoryAdapter } from '../test/support/memory-adapter.js';

const port = Number(process.argv[2] ?? 0);
const issuer = `http://127.0.0.1:${port}`;

// oidc-provider's own memory adapter is an LRU of 1000 entries: the client_credentials run would
// evict the userinfo token within a second, and the bare figures would then be for 401s.
const provider = new Provider(issuer, {
  adapter: memoryAdapter(),
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret-bench-secret-bench-secret',
      grant_types: ['client_credentials', 'authorization_code'],
      redirect_uris: ['http://127.0.0.1/cb'],
      response_types: ['code'],
    },
  ],
  features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, devInteractions: { enabled: false } },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  ttl: { AccessToken: 3600, ClientCredentials: 3600, Grant: 3600 },
});

const server = provider.listen(port, '127.0.0.1', async () => {
  const grant = new provider.Grant({ accountId: 'bench-user', clientId: 'bench' });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  const client = await provider.Client.find('bench');
  const token = new provider.AccessToken({ accountId: 'bench-user', client, grantId, scope: 'openid' });
  const accessToken = await token.save();
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, accessToken })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
