import type { Context } from 'koa';
import { DomainError } from '../shared/errors.js';

/**
 * Optimistic concurrency over HTTP: If-Match carries the version a client saw (from ETag); the
 * check itself is the domain's (src/domain/versions.ts). Without If-Match the write goes ahead
 * (last writer wins), as HTTP allows.
 */
export function parseIfMatch(header: string): number | undefined {
  const value = header.trim();
  if (!value || value === '*') return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(value);
  if (!m) throw new DomainError('invalid_input', 'If-Match must be a version as sent in ETag, e.g. "3"', 'invalid_if_match');
  return Number(m[1]);
}

export function setEtag(koa: Context, version: number): void {
  koa.set('ETag', `"${version}"`);
}
