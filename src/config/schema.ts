import { z } from 'zod';

/** Every setting Tessera reads, with its default. config/default.yaml documents the same keys. */
export const configSchema = z.object({
  server: z
    .object({
      port: z.coerce.number().int().min(1).max(65535).default(8080),
      host: z.string().min(1).default('0.0.0.0'),
      trustedProxies: z.array(z.string().min(1)).default([]),
      // After SIGTERM: how long in-flight requests may take before their connections are cut.
      shutdownTimeoutS: z.coerce.number().min(0).max(600).default(10),
    })
    .prefault({}),
  database: z
    .object({
      url: z
        .string()
        .refine((v) => v === '' || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL or empty')
        .default(''),
      // Named (prepared) statements: off only behind PgBouncer in transaction mode before 1.21.
      preparedStatements: z.union([z.boolean(), z.stringbool()], { error: 'must be true or false' }).default(true),
    })
    .prefault({}),
  dataDir: z.string().min(1).default('./data'),
  redis: z
    .object({
      // One URL; in cluster mode, seed nodes separated by commas.
      url: z
        .string()
        .refine(
          (v) => v === '' || v.split(',').every((u) => /^rediss?:\/\//.test(u.trim())),
          'must be a redis:// URL (cluster: several, comma separated) or empty',
        )
        .default(''),
      mode: z.enum(['standalone', 'cluster']).default('standalone'),
      commandTimeoutMs: z.coerce.number().int().min(50).default(1000),
      connectTimeoutMs: z.coerce.number().int().min(50).default(1000),
    })
    .prefault({}),
  masterKey: z
    .string()
    .refine((v) => v === '' || decodeKey(v) !== null, 'must be 32 bytes, base64 or hex')
    .default(''),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      // auto: pretty on a terminal, JSON lines otherwise.
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  passwordHashing: z
    .object({
      memoryCost: z.coerce.number().int().min(8192).default(19456),
      timeCost: z.coerce.number().int().min(1).default(2),
      parallelism: z.coerce.number().int().min(1).default(1),
    })
    .prefault({}),
  oidc: z
    .object({
      providerCacheSize: z.coerce.number().int().min(1).default(2000),
      cookieKeys: z.array(z.string().min(16)).default([]),
    })
    .prefault({}),
  login: z
    .object({
      // How recent a user's sign-in must be for changes to their own factors (TOTP added or removed,
      // new recovery codes, a passkey added), from the account page or the Auth API (src/domain/recent-sign-in.ts).
      freshSignInS: z.coerce
        .number()
        .int()
        .min(1)
        .max(86_400)
        .default(5 * 60),
      // Failed logins counted before argon2 runs (src/login/throttle.ts); a key over its limit is refused for blockS.
      throttle: z
        .object({
          perAccount: z.coerce.number().int().min(1).default(10),
          perAddress: z.coerce.number().int().min(1).default(100),
          windowS: z.coerce
            .number()
            .int()
            .min(1)
            .default(15 * 60),
          blockS: z.coerce
            .number()
            .int()
            .min(1)
            .default(5 * 60),
        })
        .prefault({}),
    })
    .prefault({}),
  mail: z
    .object({
      // The outbox (src/notify/outbox.ts): mail leaves after the request, sent by every process's sender.
      outbox: z
        .object({
          // How often a sender looks for mail queued by another process or due for a retry, milliseconds.
          pollMs: z.coerce.number().int().min(50).default(5000),
          // The waits before each retry of a mail that could not be sent, seconds; after the last, it is kept as failed.
          retryDelaysS: z.array(z.coerce.number().min(0)).default([10, 60, 300, 1800, 3600]),
        })
        .prefault({}),
    })
    .prefault({}),
  ui: z
    .object({
      // Sessions of the console (and the account page): ended after this long without a request, and this long after sign-in.
      sessionIdleS: z.coerce
        .number()
        .int()
        .min(60)
        .default(30 * 60),
      sessionAbsoluteS: z.coerce
        .number()
        .int()
        .min(300)
        .default(12 * 3600),
    })
    .prefault({}),
  firstInstance: z
    .object({
      name: z.string().min(1).default('Tessera'),
      domains: z.array(z.string().min(1)).min(1).default(['localhost', '127.0.0.1']),
      orgName: z.string().min(1).default('Tessera'),
      admin: z
        .object({
          username: z.string().min(1).default('admin'),
          email: z
            .email()
            .or(z.string().regex(/^[^@\s]+@[^@\s]+$/))
            .default('admin@localhost'),
          password: z.string().default(''),
        })
        .prefault({}),
    })
    .prefault({}),
  // Connections to addresses tenants configure (IdPs, SMS webhook, SMTP): src/shared/outbound.ts.
  outbound: z
    .object({
      allowPrivateNetworks: z.union([z.boolean(), z.stringbool()], { error: 'must be true or false' }).default(false),
      allowedHosts: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  systemApiKeys: z.array(z.object({ id: z.string().min(1), key: z.string().min(16) })).default([]),
  roles: z.record(z.string().regex(/^[A-Z_]+$/), z.array(z.string().min(1))).default({}),
});

export type Config = z.infer<typeof configSchema>;

export function decodeKey(value: string): Buffer | null {
  const hex = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : null;
  if (hex) return hex;
  const b64 = Buffer.from(value, 'base64');
  return b64.length === 32 ? b64 : null;
}
