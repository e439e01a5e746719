// cidr.js - client-side checks for obvious mistakes in addresses and networks.
// The server stays the judge (it also refuses host bits set, e.g. 10.0.0.1/8, and says which
// network was meant); these checks only catch typing errors before a round trip.

// Numbers as the server (inet_pton, cidr_parse) takes them: decimal, no leading zeros
// ("010" could be read as octal 8, "/08" is ambiguous too).
const DECIMAL = /^(0|[1-9]\d{0,2})$/;

function ipv4(s) {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = [];
  for (const p of parts) {
    if (!DECIMAL.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function ipv6(s) {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  try {
    // The URL parser knows IPv6 literals exactly.
    new URL(`http://[${s}]/`);
    return true;
  } catch (_) {
    return false;
  }
}

/** null when s is an IPv4/IPv6 address or CIDR, else a message. */
export function cidrProblem(s) {
  const v = s.trim();
  if (!v) return 'Enter an address or network, e.g. 192.0.2.0/24.';
  const [addr, prefix, extra] = v.split('/');
  if (extra !== undefined) return `'${v}' has more than one '/'.`;
  const four = ipv4(addr);
  const six = !four && ipv6(addr);
  if (!four && !six) return `'${addr}' is not an IPv4 or IPv6 address.`;
  if (prefix !== undefined) {
    const max = four ? 32 : 128;
    if (!DECIMAL.test(prefix) || Number(prefix) > max) return `The prefix length must be 0 to ${max} (got '${prefix}').`;
  }
  return null;
}

/** Splits a textarea's content (lines, commas or spaces) into a list of networks. */
export function splitNetworks(text) {
  return text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}
