import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../shared/crypto.js';

/**
 * CSRF tokens for the login forms, bound to the interaction: an HMAC of its uid under the
 * instance's cookie key. The uid only travels in the victim's own URL and signed cookie, and
 * every handler checks that the cookie's interaction is the one in the URL.
 */
export function csrfToken(key: string, uid: string): string {
  return createHmac('sha256', key).update(`csrf:${uid}`).digest('base64url');
}

export function csrfValid(key: string, uid: string, presented: unknown): boolean {
  return typeof presented === 'string' && constantTimeEqual(csrfToken(key, uid), presented);
}
