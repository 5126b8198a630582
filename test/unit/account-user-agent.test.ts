import { describeUserAgent } from '../../src/account/sessions.js';

/** The account page names a session's device from its user agent: enough to recognise one's own. */
test.each([
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'Chrome', 'Linux'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0', 'Edge', 'Windows'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15', 'Safari', 'macOS'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Safari', 'iOS'],
  ['Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0', 'Firefox', 'Android'],
])('%s is %s on %s', (ua, browser, os) => {
  expect(describeUserAgent(ua)).toEqual({ browser, os });
});

test('no user agent, or one nobody knows, names nothing', () => {
  expect(describeUserAgent(undefined)).toEqual({});
  expect(describeUserAgent('curl/8.5.0')).toEqual({ browser: undefined, os: undefined });
});
