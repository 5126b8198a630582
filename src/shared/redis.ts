import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { ServiceUnavailable } from './unavailable.js';

/**
 * Every Redis connection Tessera opens comes from here, so all share one policy:
 *
 * - Fail fast. Command connections queue nothing while disconnected (enableOfflineQueue off):
 *   with Redis down a command fails at once instead of waiting for a reconnect; a command
 *   without an answer within commandTimeoutMs fails too, and the connection is rebuilt so that
 *   the next ones fail at once until Redis answers again. Callers turn failures into
 *   ServiceUnavailable (503) or fall back to PostgreSQL (src/oidc/adapter.ts).
 * - Command connections write once per event-loop turn (batchWrites): the commands of every
 *   request handled in one turn (20 concurrent token requests' SETs) leave in one socket write,
 *   the largest single cost of a token on a VM. Nothing else changes: a command that cannot be
 *   written is still rejected at once, and commandTimeout still counts from the call.
 * - Subscribers do queue (their SUBSCRIBE is sent on every (re)connect by ioredis).
 * - Standalone Redis (redis.url) or Redis Cluster (redis.mode cluster; redis.url lists seed
 *   nodes, comma separated). In a cluster, keys used together share a hash tag, and pub/sub
 *   (PUBLISH/SUBSCRIBE) reaches every node's subscribers, so change notices work as before.
 */

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  url: string;
  mode: 'standalone' | 'cluster';
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface RedisConnections {
  /** a connection for commands: fails fast while Redis is unreachable */
  commands(name: string): RedisClient;
  /** a connection for SUBSCRIBE: reconnects and resubscribes on its own */
  subscriber(name: string): RedisClient;
  /** every connection opened so far, by name, and whether it is ready */
  states(): { name: string; ready: boolean }[];
  close(): void;
}

function seeds(url: string): ClusterNode[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const u = new URL(s);
      return { host: u.hostname, port: Number(u.port || 6379) };
    });
}

/** Options shared by one Redis URL's connections (password and TLS come from the first seed's URL). */
function baseOptions(s: RedisSettings): RedisOptions {
  const first = new URL(s.url.split(',')[0].trim());
  return {
    connectTimeout: s.connectTimeoutMs,
    // Reconnect quickly at first, then every 2 s at most, forever: the process outlives an outage.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export function redisConnections(settings: RedisSettings, log?: Logger): RedisConnections {
  const opened: { name: string; client: RedisClient }[] = [];

  function open(name: string, subscriber: boolean): RedisClient {
    const options: RedisOptions = {
      ...baseOptions(settings),
      connectionName: `tessera:${name}`,
      enableOfflineQueue: subscriber,
      maxRetriesPerRequest: subscriber ? null : 1,
      ...(subscriber ? {} : { commandTimeout: settings.commandTimeoutMs }),
    };
    const client: RedisClient =
      settings.mode === 'cluster'
        ? new Cluster(seeds(settings.url), {
            enableOfflineQueue: subscriber,
            redisOptions: options,
            clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
            // A slot moved or a node failed over: look the topology up again rather than erroring.
            retryDelayOnFailover: 100,
            retryDelayOnClusterDown: 100,
            ...(subscriber ? {} : { maxRedirections: 4 }),
          })
        : new Redis(settings.url, options);
    if (!subscriber && client instanceof Redis) batchWrites(client);
    // Report state changes once each, not every reconnect attempt's error.
    let up = true;
    client.on('error', (err: Error) => {
      if (up) log?.warn({ err: { message: err.message }, connection: name }, 'redis connection failed');
      up = false;
    });
    client.on('ready', () => {
      seenReady.add(client);
      if (!up) log?.info({ connection: name }, 'redis connection ready again');
      up = true;
    });
    opened.push({ name, client });
    return client;
  }

  return {
    commands: (name) => open(name, false),
    subscriber: (name) => open(`${name}:sub`, true),
    states: () => opened.map(({ name, client }) => ({ name, ready: client.status === 'ready' })),
    // QUIT lets a connection end cleanly; one that cannot send it (Redis down) is just dropped.
    close() {
      for (const { client } of opened) {
        if (client.status === 'end') continue;
        if (client.status === 'ready') client.quit().catch(() => client.disconnect());
        else client.disconnect();
      }
    },
  };
}

/**
 * Corks the connection's socket at its first command of an event-loop turn and uncorks it once
 * the turn's I/O callbacks have run (setImmediate), so the turn's commands go out in one writev.
 * ioredis's own auto-pipelining flushes on process.nextTick, i.e. within one request's callback,
 * which batches nothing across requests. (Cluster connections are left as they are.)
 */
function batchWrites(client: Redis): void {
  let corked: { uncork(): void } | undefined;
  const uncork = () => {
    corked?.uncork();
    corked = undefined;
  };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    const socket = client.stream;
    if (!corked && !stream && client.status === 'ready' && socket?.writable) {
      socket.cork();
      corked = socket;
      setImmediate(uncork);
    }
    return send(command, stream);
  }) as Redis['sendCommand'];
}

/**
 * Runs Redis commands, turning any failure into ServiceUnavailable. While the connection is
 * not ready nothing is sent; after a timeout the connection is rebuilt, so that a Redis that
 * stopped answering costs one timeout, not one per request.
 */
const seenReady = new WeakSet<RedisClient>();
const FIRST_CONNECT_WAIT_MS = 1000;

/**
 * A connection that has never been ready is still making its first connection (at boot): wait
 * for it a moment rather than failing the first requests. One that was ready before is down.
 */
async function firstConnection(redis: RedisClient): Promise<boolean> {
  if (seenReady.has(redis) || !['connecting', 'connect'].includes(redis.status)) return false;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, FIRST_CONNECT_WAIT_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

const TRANSIENT_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|READONLY|TRYAGAIN|BUSY)/;

/** Whether the connection takes commands now, after waiting a moment for a first connection still being made. */
export async function readyOrFirstConnection(redis: RedisClient): Promise<boolean> {
  return redis.status === 'ready' || firstConnection(redis);
}

export async function callRedis<T>(redis: RedisClient, run: (r: RedisClient) => Promise<T>): Promise<T> {
  if (!(await readyOrFirstConnection(redis))) throw new ServiceUnavailable('redis');
  try {
    return await run(redis);
  } catch (err) {
    // A reply error is Redis answering (a bug of ours, not an outage), except the cluster's transient ones.
    if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) throw err;
    if (err instanceof Error && /timed out/i.test(err.message) && redis.status === 'ready') {
      redis.disconnect(true);
    }
    throw new ServiceUnavailable('redis', err);
  }
}
