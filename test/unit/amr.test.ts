import { amrOf, PASSWORDLESS_AMR } from '../../src/login/amr.js';

/** ZITADEL's amr for each way of signing in (internal/api/oidc/amr.go). */
test.each([
  ['password', ['pwd'], ['pwd']],
  ['password + TOTP', ['pwd', 'otp'], ['pwd', 'otp', 'mfa']],
  ['password + passkey as second factor', ['pwd', 'user'], ['pwd', 'user', 'mfa']],
  ['passkey alone (passwordless)', PASSWORDLESS_AMR, ['user', 'mfa']],
  ['external IdP', ['fed'], ['fed']],
  ['external IdP + TOTP: the IdP is no factor of ours', ['fed', 'otp'], ['otp', 'fed']],
  ['external IdP + password (linking)', ['pwd', 'fed'], ['pwd', 'fed']],
  ['the same method twice counts once', ['otp', 'pwd', 'otp'], ['pwd', 'otp', 'mfa']],
])('%s', (_name, methods, amr) => {
  expect(amrOf(methods)).toEqual(amr);
});
