import { isIP } from "node:net";

/**
 * The client's address for per-client rules (the login rate limit). Behind a reverse proxy or load
 * balancer every TCP peer is the proxy, so with `TRUSTED_PROXIES` set, a request whose peer is one
 * of them is attributed to the address the proxies appended to `X-Forwarded-For`: walking the list
 * from the right (the entry the nearest proxy wrote), the first address that is not itself a trusted
 * proxy. The header is ignored from any other peer (a client could write anything in it).
 */
export function clientAddress(peer: string | null, forwardedFor: string | null, trusted: ReadonlySet<string>): string {
  const direct = peer === null ? "local" : normalize(peer);
  if (forwardedFor === null || !isTrustedPeer(peer, trusted)) return direct;
  const hops = forwardedFor
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "")
    .map(hopAddress);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    // Not an address: the proxy did not write it, so it says nothing about the client.
    if (hop === null) return direct;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? direct;
}

/**
 * An `X-Forwarded-For` entry as an address: without the port some proxies append (`1.2.3.4:5555`,
 * `[::1]:443`), IPv4 octets without leading zeros (`001.1.1.1`), normalized like peers; null when
 * it is not an IP address.
 */
function hopAddress(entry: string): string | null {
  let a = entry;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) a = v4.slice(1).map(Number).join(".");
  return isIp(a) ? normalize(a) : null;
}

/** True when the TCP peer is one of the trusted proxies (whose forwarded headers count). */
export function isTrustedPeer(peer: string | null, trusted: ReadonlySet<string>): boolean {
  return peer !== null && trusted.has(normalize(peer));
}

/** Parses `TRUSTED_PROXIES` (comma-separated IP addresses); throws on anything that is not one. */
export function parseTrustedProxies(raw: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (raw ?? "").split(",")) {
    const a = part.trim();
    if (a === "") continue;
    if (!isIp(a)) throw new Error(`"${a}" is not an IP address`);
    out.add(normalize(a));
  }
  return out;
}

/**
 * An address in one spelling, so that a setting, a peer and a hop naming the same address compare
 * equal: IPv4-mapped IPv6 (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4 peers, or
 * `::ffff:a00:1`) as plain IPv4; other IPv6 in the compressed lower-case form Bun reports peers in
 * (RFC 5952: `2001:0DB8:0:0::1` → `2001:db8::1`); one with a zone (`fe80::1%eth0`) lower-cased only.
 */
function normalize(a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (m) return m[1]!;
  if (!a.includes(":")) return a;
  const compressed = URL.parse(`http://[${a}]`)?.hostname.slice(1, -1);
  if (compressed === undefined) return a.toLowerCase();
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/**
 * An IPv4 or IPv6 address as written (found by QA: any run of hex digits, dots and colons passed as
 * IPv6, so `TRUSTED_PROXIES=10.0.0.1:8080` was taken and then matched no peer: the proxy was not
 * trusted, without a word).
 */
function isIp(a: string): boolean {
  return isIP(a) !== 0;
}

/**
 * The address a login budget is kept for: an IPv6 address's /64 (`2001:db8:1:2::/64` for
 * `2001:db8:1:2:aaaa::5`), since one host or home network usually holds a whole /64 and could
 * otherwise take a fresh budget from each of its addresses; an IPv4-mapped one as its IPv4 address;
 * an IPv4 address, or anything that is not a well-formed IPv6 address, as it is.
 */
export function loginBudgetAddress(address: string): string {
  if (!address.includes(":")) return address;
  const [head, tail] = address.includes("::") ? address.split("::", 2) : [address, null];
  // An IPv4 tail (`64:ff9b::1.2.3.4`, `::ffff:1.2.3.4`) is two groups.
  const v4 = (g: string) => {
    const o = g.split(".").map(Number);
    return o.length === 4 && o.every((x) => Number.isInteger(x) && x >= 0 && x <= 255) ? [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)] : ["x"];
  };
  const groups = (s: string) => (s === "" ? [] : s.split(":").flatMap((g) => (g.includes(".") ? v4(g) : [g])));
  const h = groups(head!);
  const t = tail === null || tail === undefined ? [] : groups(tail);
  const all = tail === null || tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return address;
  const n = all.map((g) => parseInt(g, 16));
  // IPv4-mapped (`::ffff:c633:6407`, as a dual-stack socket may report an IPv4 client): that IPv4 address.
  if (n.slice(0, 5).every((g) => g === 0) && n[5] === 0xffff) return [n[6]! >> 8, n[6]! & 255, n[7]! >> 8, n[7]! & 255].join(".");
  return `${n.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}
