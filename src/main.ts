import http from 'node:http';
import { loadConfig, ConfigError } from './config/load.js';
import { createRuntime } from './runtime/index.js';
import { bootstrapFirstInstance } from './domain/instance/service.js';
import { createApp } from './app.js';
import { exitOnSignals, trackConnections, type Drain } from './ops/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const rt = await createRuntime(config, { waitForDataDir: true });
  const created = await bootstrapFirstInstance(rt.db.knex, rt.deps);
  if (created) {
    rt.log.info({ instanceId: created.instanceId, domains: config.firstInstance.domains }, 'first instance created');
    // Printed to the terminal on purpose, not through the logger: the password is shown once.
    const consoleUrl = `http://${config.firstInstance.domains[0]}:${config.server.port}/ui/console`;
    const password = created.generatedPassword
      ? `  Password:   ${created.generatedPassword}\n  (shown once; set TESSERA_ADMIN_PASSWORD to choose it)\n`
      : '  Password:   the one in TESSERA_ADMIN_PASSWORD\n';
    process.stdout.write(`\n  Console:    ${consoleUrl}\n  Sign in as: ${created.adminLoginName}\n${password}\n`);
  }
  // /readyz answers 503 from the moment a shutdown begins (the drain exists once the server does).
  const shutdown: { drain?: Drain } = {};
  const app = createApp(rt, {
    get draining() {
      return shutdown.drain?.draining ?? false;
    },
  });
  const server = http.createServer(app.callback()).listen(config.server.port, config.server.host, () => {
    rt.log.info({ port: config.server.port, database: rt.db.kind }, `Tessera listening on http://localhost:${config.server.port}`);
  });
  // Idle keep-alive connections outlive a load balancer's idle timeout (commonly 60 s), so the
  // balancer, not Tessera, closes them: otherwise it may send a request on a socket being closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // SIGTERM: stop accepting, finish what is in flight (Connection: close), then release what the
  // app holds (provider pool, mail transports), then the runtime's pools, and exit.
  shutdown.drain = trackConnections(server, {
    deadlineMs: config.server.shutdownTimeoutS * 1000,
    log: rt.log,
    release: () => app.close().then(() => rt.close()),
  });
  exitOnSignals(shutdown.drain);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
  }
  process.exit(1);
});
