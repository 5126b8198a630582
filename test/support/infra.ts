import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from './process.js';

/**
 * Private PostgreSQL and Redis servers for the tests that stop, kill or restart them: each on
 * its own port and data directory, never the shared ones (127.0.0.1:5432 and :6379).
 */

const PG_BIN = '/usr/lib/postgresql/15/bin';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class PrivateRedis {
  private child?: ChildProcess;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'tessera-redis-'));
  private constructor(
    readonly port: number,
    private readonly extra: string[],
  ) {}

  static async start(extra: string[] = [], port?: number): Promise<PrivateRedis> {
    const r = new PrivateRedis(port ?? (await freePort()), extra);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        ...(this.extra.includes('--appendonly') ? [] : ['--appendonly', 'no']),
        ...this.extra,
      ],
      { stdio: 'ignore' },
    );
    await until(`redis on ${this.port}`, () => this.ping());
  }

  async ping(): Promise<boolean> {
    const c = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } finally {
      c.disconnect();
    }
  }

  /** SIGKILL: the server vanishes mid-whatever, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** SIGSTOP / SIGCONT: the server keeps its connections but stops answering (a hung host). */
  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Runs a command on this server (redis-cli-like), e.g. ['CLIENT', 'PAUSE', '2000', 'WRITE']. */
  async command(...args: string[]): Promise<unknown> {
    const c = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      return await c.call(args[0], ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** initdb refuses to run as root: the cluster belongs to the postgres user then. */
function asPostgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
}

export class PrivatePostgres {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'tessera-pg-'));
  private readonly user = asPostgresUser();
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivatePostgres> {
    const p = new PrivatePostgres(await freePort());
    if (p.user) chownSync(p.dir, p.user.uid, p.user.gid);
    p.run('initdb', ['-D', p.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await p.start();
    const admin = new pg.Client({ connectionString: p.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE tessera');
    await admin.end();
    return p;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  private run(bin: string, args: string[]): void {
    execFileSync(path.join(PG_BIN, bin), args, { stdio: 'ignore', ...(this.user ?? {}) });
  }

  url(db = 'tessera'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-w',
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`,
      'start',
    ]);
    await until(`postgres on ${this.port}`, async () => {
      const c = new pg.Client({ connectionString: this.url('postgres') });
      await c.connect();
      await c.end();
      return true;
    });
  }

  /** A fast shutdown (clients are disconnected at once), as a failover or a restart does. */
  async stop(): Promise<void> {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } catch {
      /* already stopped */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A three-master Redis Cluster (no replicas) from the redis-server binary, on private ports. */
export class PrivateRedisCluster {
  private constructor(readonly nodes: PrivateRedis[]) {}

  static async start(): Promise<PrivateRedisCluster> {
    const nodes = await Promise.all([0, 1, 2].map(() => PrivateRedis.start(['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'])));
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: 'ignore',
    });
    await until('redis cluster', async () => {
      const infos = await Promise.all(nodes.map((n) => n.command('CLUSTER', 'INFO')));
      return infos.every((i) => String(i).includes('cluster_state:ok'));
    });
    return new PrivateRedisCluster(nodes);
  }

  /** Seed nodes as Tessera's redis.url takes them in cluster mode. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
