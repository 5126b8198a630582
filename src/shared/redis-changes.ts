import { Redis } from 'ioredis';
import type { ChangeBus } from './changes.js';

const CHANNEL = 'tessera:instance-changed';

/** Cross-process change notices over Redis pub/sub. */
export class RedisChangeBus implements ChangeBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly listeners: ((instanceId: string) => void)[] = [];
  private readonly ready: Promise<unknown>;

  constructor(url: string) {
    this.pub = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    this.sub = new Redis(url, { lazyConnect: false });
    this.sub.on('message', (_channel, instanceId: string) => this.listeners.forEach((l) => l(instanceId)));
    this.ready = this.sub.subscribe(CHANNEL);
  }

  async publish(instanceId: string): Promise<void> {
    await this.ready;
    // This process drops its caches at once (read-your-writes); its own copy of the message
    // arrives later through Redis and drops them again, which is harmless.
    this.listeners.forEach((l) => l(instanceId));
    await this.pub.publish(CHANNEL, instanceId);
  }

  subscribe(listener: (instanceId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once the subscription is live, so no notice published after start-up is missed. */
  whenReady(): Promise<unknown> {
    return this.ready;
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
