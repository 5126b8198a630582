import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Context, Next } from 'koa';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Logs: JSON lines (one object per line, for a collector) unless stdout is a terminal, where
 * pino-pretty prints them for people. LOG_FORMAT=json|pretty overrides the guess.
 *
 * Every line written while a request is handled carries its request id (reqId), whichever
 * module logs it: the id lives in an AsyncLocalStorage that pino's mixin reads. The id comes
 * from the caller's X-Request-Id when it looks like one (a proxy's), else it is made here, and
 * it goes back in the X-Request-Id response header.
 */

const requestIds = new AsyncLocalStorage<{ reqId: string }>();

const REDACT = ['*.password', '*.secret', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'];

export function createLogger(opts: { level: string; format?: string; destination?: DestinationStream }): Logger {
  const options = {
    level: opts.level,
    redact: REDACT,
    mixin: () => requestIds.getStore() ?? {},
  };
  if (opts.destination) return pino(options, opts.destination);
  const pretty = opts.format ? opts.format === 'pretty' : Boolean(process.stdout.isTTY);
  if (pretty) {
    const stream = prettyStream();
    if (stream) return pino(options, stream);
  }
  return pino(options, sharedStdout());
}

/** One per process: every logger (tests build many runtimes) shares it and its exit hook. */
let stdout: DestinationStream | undefined;
function sharedStdout(): DestinationStream {
  return (stdout ??= batchedStdout());
}

/**
 * stdout written in batches: the lines of FLUSH_MS (under load, hundreds of access lines) leave
 * in one write instead of one write each, a syscall per request, which was a measurable share of
 * a token's CPU. A batch leaves early once it holds FLUSH_BYTES. Still synchronous when it leaves
 * (pino's SonicBoom, sync), and at exit (an uncaught exception included) whatever is left is
 * written first; only a SIGKILL loses the last FLUSH_MS of lines.
 */
const FLUSH_MS = 25;
const FLUSH_BYTES = 64 * 1024;

function batchedStdout(): DestinationStream {
  const out = pino.destination({ dest: process.stdout.fd ?? 1, sync: true });
  let buffered = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!buffered) return;
    const lines = buffered;
    buffered = '';
    out.write(lines);
  };
  process.on('exit', flush);
  return {
    write(line: string) {
      buffered += line;
      if (buffered.length >= FLUSH_BYTES) flush();
      else if (!timer) timer = setTimeout(flush, FLUSH_MS).unref();
    },
    // logger.flush()
    flush(done?: (err?: Error) => void) {
      flush();
      done?.();
    },
  } as DestinationStream;
}

/** pino-pretty as a synchronous stream (no worker thread), when installed. */
function prettyStream(): DestinationStream | undefined {
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => DestinationStream;
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
  } catch {
    return undefined;
  }
}

const PROBES = new Set(['/livez', '/readyz', '/healthz', '/metrics']);
const INCOMING_ID = /^[\w.:-]{8,128}$/;

/**
 * Gives the request its id (header in, header out) and logs one line when it is answered. The
 * line names its fields itself, so it goes through a logger without redaction (a measurable share
 * of a token's CPU): method, path, status and duration hold no secret.
 */
export function requestLogging(log: Logger) {
  const access = log.child({}, { redact: [] });
  return async (ctx: Context, next: Next): Promise<void> => {
    const incoming = ctx.get('x-request-id');
    const reqId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', reqId);
    ctx.state.reqId = reqId;
    const started = process.hrtime.bigint();
    // The provider writes the raw response itself (ctx.respond = false), so log when it is sent.
    ctx.res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { reqId, method: ctx.method, path: ctx.path, status: ctx.res.statusCode, ms: Math.round(ms * 10) / 10 };
      // Probes and scrapes every few seconds would drown the rest: only at debug.
      if (PROBES.has(ctx.path)) access.debug(line, 'request');
      else access.info(line, 'request');
    });
    await requestIds.run({ reqId }, next);
  };
}

/** The current request's id, for code that answers outside Koa's context. */
export function currentRequestId(): string | undefined {
  return requestIds.getStore()?.reqId;
}
