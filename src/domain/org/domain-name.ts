import { invalidInput } from '../../shared/errors.js';

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostname = new RegExp(`^${label}(?:\\.${label})*$`);
const ipv4 = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Lower-cases and checks a domain name (a host name, no scheme, port or path); throws invalid_input otherwise. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.$/, '');
  if (d.length === 0 || d.length > 253 || !(hostname.test(d) || ipv4.test(d))) {
    throw invalidInput(`"${domain}" is not a valid domain name`, { domain });
  }
  return d;
}
