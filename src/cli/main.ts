import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load.js';
import { migrateLatest, openDatabase } from '../db/database.js';

/** `tessera <command>`: operating an installation from the shell. */
const usage = `usage: tessera <command>

commands:
  migrate                 apply database migrations
`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'migrate': {
      parseArgs({ args: rest, options: {} });
      const db = openDatabase({ url: config.database.url, dataDir: config.dataDir });
      try {
        const applied = await migrateLatest(db.knex);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.close();
      }
      return 0;
    }
    default:
      process.stderr.write(usage);
      return command ? 2 : 0;
  }
}

runCli(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
