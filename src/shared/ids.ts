import { randomBytes, randomInt } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/**
 * Time-ordered numeric ids in the style of ZITADEL's (18 digits): sortable by creation,
 * safe in URLs and in reserved scopes such as urn:zitadel:iam:org:id:{id}.
 */
export function newId(): string {
  const now = Date.now();
  if (now === lastMs) seq = (seq + 1) % 1000;
  else {
    lastMs = now;
    seq = randomInt(0, 500);
  }
  return `${now}${String(seq).padStart(3, '0')}${String(randomInt(0, 100000)).padStart(5, '0')}`;
}

/** A random secret for humans to copy (client secrets, personal access tokens). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
