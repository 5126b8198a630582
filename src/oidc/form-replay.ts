import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

/**
 * oidc-provider reads request bodies from the raw stream. Where Tessera must look at (or adjust)
 * a form first, the body is read here and handed on as a stand-in request that replays it.
 */
const MAX_BODY = 56 * 1024;

export async function readForm(req: IncomingMessage): Promise<{ raw: string; params: URLSearchParams; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return { raw: '', params: new URLSearchParams(), tooLarge: true };
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  return { raw, params: new URLSearchParams(raw), tooLarge: false };
}

/** A request like `req` whose body is `body` (content-length adjusted). */
export function replayRequest(req: IncomingMessage, body: string): IncomingMessage {
  const raw = Buffer.from(body, 'utf8');
  const replay = Readable.from([raw]) as unknown as IncomingMessage;
  const headers = { ...req.headers, 'content-length': String(raw.length) };
  const props: Record<string, unknown> = {
    headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    trailers: req.trailers,
    complete: true,
  };
  for (const [key, value] of Object.entries(props)) Object.defineProperty(replay, key, { value, writable: true, configurable: true });
  return replay;
}
