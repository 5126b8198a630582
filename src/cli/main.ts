import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load.js';
import { migrateLatest, openDatabase } from '../db/database.js';
import { applyCommand, exportCommand, isOperatorError, isUsageError } from './commands.js';
import { keysCommand } from './keys.js';

/** `tessera <command>`: operating an installation from the shell. */
const usage = `usage: tessera <command>

commands:
  migrate                 apply database migrations
  apply FILE [--dry-run]  create or update what FILE describes (YAML); --dry-run prints the plan only
  export [--instance ID] [--out FILE]
                          write the current state in the apply format (secrets as env references)
  keys rotate [--instance ID] [--alg RS256|ES256]
                          publish the next signing key, or (when one is published) make it sign
`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'migrate': {
      parseArgs({ args: rest, options: {} });
      const db = await openDatabase({ url: config.database.url, dataDir: config.dataDir });
      try {
        const applied = await migrateLatest(db.knex);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'apply':
      return applyCommand(config, rest);
    case 'export':
      return exportCommand(config, rest);
    case 'keys':
      return keysCommand(config, rest);
    default:
      process.stderr.write(usage);
      return command ? 2 : 0;
  }
}

// `tessera export | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  else throw err;
});

/** Exits once stdout and stderr have drained: process.exit alone cuts off a large export written to a pipe. */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

runCli(process.argv.slice(2)).then(exitWhenFlushed, (err) => {
  process.stderr.write(err instanceof ConfigError || isOperatorError(err) ? `${(err as Error).message}\n` : `${(err as Error).stack ?? err}\n`);
  exitWhenFlushed(isUsageError(err) ? 2 : 1);
});
