import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * Graceful shutdown. On SIGTERM (or SIGINT): /readyz answers 503 at once, the listener closes
 * (no new connections), idle keep-alive sockets are closed, and every request still in flight
 * is answered with `Connection: close`, so its socket closes after the response. When the last
 * request finished, or the deadline passed (then the rest are cut), `release` closes the
 * pools and the process exits: 0 after a clean drain, 1 when the deadline cut requests off.
 */

export interface Drain {
  readonly draining: boolean;
  /** starts the drain; resolves with the exit code once it is over */
  begin(reason: string): Promise<number>;
}

export function trackConnections(server: Server, opts: { deadlineMs: number; log: Logger; release: () => Promise<void> }): Drain {
  const inFlight = new Map<Socket, number>();
  const responses = new Set<ServerResponse>();
  let draining = false;
  let finished: Promise<number> | undefined;
  let allDone: () => void = () => undefined;

  const settle = () => {
    if (draining && [...inFlight.values()].every((n) => n === 0)) allDone();
  };

  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => {
      inFlight.delete(socket);
      settle();
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    // A request that arrives on a kept-alive socket during the drain is answered, then its socket closes.
    if (draining) res.shouldKeepAlive = false;
    responses.add(res);
    res.once('close', () => {
      responses.delete(res);
      const n = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, n);
      if (draining && n === 0) socket.end();
      settle();
    });
  });

  function closeIdle(): void {
    for (const [socket, n] of inFlight) if (n === 0) socket.end();
  }

  return {
    get draining() {
      return draining;
    },
    begin(reason: string) {
      if (finished) return finished;
      draining = true;
      opts.log.info({ reason, openConnections: inFlight.size, deadlineMs: opts.deadlineMs }, 'shutting down: draining connections');
      finished = (async () => {
        const drained = new Promise<void>((resolve) => {
          allDone = resolve;
        });
        server.close();
        // Responses not yet started carry Connection: close; started ones close their socket when done.
        for (const res of responses) if (!res.headersSent) res.shouldKeepAlive = false;
        closeIdle();
        settle();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          drained.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), opts.deadlineMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          opts.log.warn({ cut: [...inFlight.values()].reduce((a, b) => a + b, 0) }, 'shutdown deadline passed: closing the remaining connections');
          server.closeAllConnections();
        }
        try {
          await opts.release();
        } catch (err) {
          opts.log.error({ err }, 'shutdown: releasing resources failed');
          return 1;
        }
        opts.log.info({ clean: !timedOut }, 'shutdown complete');
        return timedOut ? 1 : 0;
      })();
      return finished;
    },
  };
}

/** Exits the process on SIGTERM and SIGINT once the drain is over. */
export function exitOnSignals(drain: Drain): void {
  const onSignal = (signal: NodeJS.Signals) => {
    void drain.begin(signal).then((code) => process.exit(code));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
