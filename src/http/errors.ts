import type { Context, Next } from 'koa';
import { ZodError } from 'zod';
import { DomainError } from '../shared/errors.js';
import { asUnavailable } from '../shared/unavailable.js';

/** The one place errors become HTTP: application/problem+json with a stable `code`. */
export function problem(ctx: Context, status: number, code: string, detail: string, extra: Record<string, unknown> = {}): void {
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = { type: `https://tessera.dev/problems/${code}`, title: code.replace(/[_.]/g, ' '), status, code, detail, ...extra };
}

export async function renderErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    if (err instanceof DomainError) {
      problem(ctx, err.status, err.reason ?? err.code, err.message, { category: err.code, ...(err.details ? { details: err.details } : {}) });
    } else if (err instanceof ZodError) {
      problem(ctx, 400, 'invalid_input', err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '), {
        category: 'invalid_input',
        issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    } else if (asUnavailable(err)) {
      // An infrastructure failure is never reported as anything else (no 401, no 500): retry later.
      const unavailable = asUnavailable(err)!;
      ctx.app.emit('error', err, ctx);
      ctx.set('Retry-After', String(unavailable.retryAfterS));
      problem(ctx, 503, 'unavailable', unavailable.error_description, { category: 'unavailable', dependency: unavailable.dependency });
    } else {
      const status = (err as { status?: number; expose?: boolean }).status;
      if (status && status < 500) {
        problem(ctx, status, 'bad_request', (err as Error).message);
      } else {
        ctx.app.emit('error', err, ctx);
        problem(ctx, 500, 'internal', 'internal server error');
      }
    }
  }
}
