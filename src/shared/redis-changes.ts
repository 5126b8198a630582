import type { Logger } from 'pino';
import { ALL_INSTANCES, type ChangeBus } from './changes.js';
import { callRedis, type RedisClient } from './redis.js';

const CHANNEL = 'tessera:instance-changed';

/**
 * Cross-process change notices over Redis pub/sub (in a Redis Cluster, PUBLISH reaches the
 * subscribers of every node).
 *
 * While Redis is unreachable a notice cannot be sent: the write it follows has committed, so it
 * is logged, not failed; this process has already dropped its own caches. Every other process's
 * subscriber lost its connection too, and when it is back it tells its listeners that anything
 * may have changed (ALL_INSTANCES), so nothing stale outlives the outage.
 */
export class RedisChangeBus implements ChangeBus {
  private readonly listeners: ((instanceId: string) => void)[] = [];
  private readonly ready: Promise<unknown>;
  private wasLive = false;

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly log?: Logger,
  ) {
    this.sub.on('message', (_channel: string, instanceId: string) => this.emit(instanceId));
    // Whatever was cached before the subscription was live may have missed a notice.
    this.ready = this.sub.subscribe(CHANNEL).then(() => {
      this.wasLive = true;
      this.emit(ALL_INSTANCES);
    });
    // A runtime closed before its subscription is live rejects this ("Connection is closed"): not
    // an error of its own, so never an unhandled rejection; whenReady() callers still see it.
    this.ready.catch(() => undefined);
    // ioredis resubscribes after a reconnect; notices sent meanwhile are lost, so drop everything.
    this.sub.on('ready', () => {
      if (this.wasLive) this.emit(ALL_INSTANCES);
    });
  }

  private emit(instanceId: string): void {
    this.listeners.forEach((l) => l(instanceId));
  }

  async publish(instanceId: string): Promise<void> {
    // This process drops its caches at once (read-your-writes); its own copy of the message
    // arrives later through Redis and drops them again, which is harmless.
    this.emit(instanceId);
    try {
      await callRedis(this.pub, (r) => r.publish(CHANNEL, instanceId));
    } catch (err) {
      this.log?.warn({ err, instanceId }, 'change notice not sent (Redis unreachable): other processes catch up when it returns');
    }
  }

  subscribe(listener: (instanceId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once the subscription is live, so no notice published after start-up is missed. */
  whenReady(): Promise<unknown> {
    return this.ready;
  }

  /** Stops notifying; the connections belong to the runtime's factory, which closes them. */
  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}
