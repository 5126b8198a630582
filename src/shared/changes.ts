import { EventEmitter } from 'node:events';

/**
 * Tells every process that an instance's settings, applications or keys changed, so that
 * caches (the provider pool, host resolution) drop what they hold. The in-process bus serves
 * the embedded single-process mode; with Redis, src/shared/redis-changes.ts fans out to all.
 */
/** The notice that anything may have changed (notices were lost): drop every cached instance. */
export const ALL_INSTANCES = '*';

export interface ChangeBus {
  publish(instanceId: string): Promise<void>;
  subscribe(listener: (instanceId: string) => void): void;
  close(): Promise<void>;
}

export class LocalChangeBus implements ChangeBus {
  private readonly emitter = new EventEmitter();
  async publish(instanceId: string): Promise<void> {
    this.emitter.emit('change', instanceId);
  }
  subscribe(listener: (instanceId: string) => void): void {
    this.emitter.on('change', listener);
  }
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
