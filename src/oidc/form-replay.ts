import type { IncomingMessage } from 'node:http';

/**
 * oidc-provider reads request bodies from the raw stream. Where Tessera must look at (or adjust)
 * a form first, the body is read here and handed on as a stand-in request that replays it.
 */
const MAX_BODY = 56 * 1024;

/**
 * The request's body, as received (`raw`, handed on unchanged by replayRequest) and parsed.
 * Listeners rather than `for await`: the token endpoint reads
 * every form here, and the async iterator was a measurable share of a token's CPU.
 * A body over the limit is no longer collected: the rest flows on and is dropped (as Node does
 * with a body nobody reads), so the connection stays usable after the 413.
 */
export function readForm(req: IncomingMessage): Promise<{ raw: Buffer; params: URLSearchParams; tooLarge: boolean }> {
  if (req.readableEnded) return Promise.resolve({ raw: Buffer.alloc(0), params: new URLSearchParams(), tooLarge: false });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) return void chunks.push(chunk);
      stop();
      req.resume();
      resolve({ raw: Buffer.alloc(0), params: new URLSearchParams(), tooLarge: true });
    };
    const onEnd = () => {
      stop();
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      resolve({ raw, params: new URLSearchParams(raw.toString('utf8')), tooLarge: false });
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    const onClose = () => onError(new Error('the request was closed before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * A request like `req` whose body is `body` (content-length adjusted), with the fields of a request
 * that Koa and oidc-provider read. oidc-provider reads a body with `for await (const chunk of
 * req.iterator())` (shared/selective_body.js), which the one chunk in an array answers: no stream
 * is built per request. One class, so every stand-in has the same shape (V8's inline caches stay
 * monomorphic; an object whose prototype is the request itself would give each one its own).
 */
class ReplayedRequest {
  readonly readable = true;
  readonly readableEncoding = null;
  readonly complete = true;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly socket: IncomingMessage['socket'];
  readonly trailers: IncomingMessage['trailers'];

  constructor(
    req: IncomingMessage,
    private readonly body: Buffer,
  ) {
    this.headers = { ...req.headers, 'content-length': String(body.length) };
    this.rawHeaders = req.rawHeaders;
    this.method = req.method;
    this.url = req.url;
    this.httpVersion = req.httpVersion;
    this.httpVersionMajor = req.httpVersionMajor;
    this.httpVersionMinor = req.httpVersionMinor;
    this.socket = req.socket;
    this.trailers = req.trailers;
  }

  iterator(): Buffer[] {
    return [this.body];
  }
}

export function replayRequest(req: IncomingMessage, body: Buffer | string): IncomingMessage {
  return new ReplayedRequest(req, typeof body === 'string' ? Buffer.from(body, 'utf8') : body) as unknown as IncomingMessage;
}
