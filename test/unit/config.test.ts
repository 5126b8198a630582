import { loadConfig, ConfigError } from '../../src/config/load.js';

describe('configuration', () => {
  test('defaults come from config/default.yaml', () => {
    const c = loadConfig({});
    expect(c.server.port).toBe(8080);
    expect(c.firstInstance.domains).toEqual(['localhost', '127.0.0.1']);
    expect(c.passwordHashing).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  test('environment variables override the file', () => {
    const c = loadConfig({ PORT: '9090', DATABASE_URL: 'postgres://u@h/db', TESSERA_INSTANCE_DOMAINS: 'a.example, b.example' });
    expect(c.server.port).toBe(9090);
    expect(c.database.url).toBe('postgres://u@h/db');
    expect(c.firstInstance.domains).toEqual(['a.example', 'b.example']);
    expect(c.database.preparedStatements).toBe(true);
    expect(loadConfig({ TESSERA_DATABASE_PREPARED_STATEMENTS: 'false' }).database.preparedStatements).toBe(false);
  });

  test.each([
    [{ PORT: 'abc' }, /^config error: server\.port \(PORT\): /],
    [{ DATABASE_URL: 'mysql://x' }, /^config error: database\.url \(DATABASE_URL\): must be a postgres:\/\/ URL/],
    [{ TESSERA_MASTER_KEY: 'short' }, /^config error: masterKey \(TESSERA_MASTER_KEY\): must be 32 bytes/],
    [{ LOG_LEVEL: 'loud' }, /^config error: log\.level \(LOG_LEVEL\): /],
    [
      { TESSERA_DATABASE_PREPARED_STATEMENTS: 'maybe' },
      /^config error: database\.preparedStatements \(TESSERA_DATABASE_PREPARED_STATEMENTS\): must be true or false/,
    ],
    [{ TESSERA_CONFIG: '/nonexistent.yaml' }, /^config error: TESSERA_CONFIG: file \/nonexistent\.yaml does not exist/],
  ])('%j is refused with one line naming the key', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (e) {
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
