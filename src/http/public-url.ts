/**
 * The URL a client used, for the absolute `next`/`previous` links of lists. Behind a reverse proxy
 * or load balancer that terminates TLS, the request taskmgr sees is `http://` on its own host and
 * port: when the TCP peer is one of `TRUSTED_PROXIES`, `X-Forwarded-Proto` and `X-Forwarded-Host`
 * (their first value: what the outermost proxy saw) name the scheme and host instead. From any other
 * peer the headers are ignored (a client could write anything in them).
 */
import { Elysia } from "elysia";
import type { Config } from "../config";
import { isTrustedPeer } from "../wire/client-address";
import { originOf } from "./origin";

/** `url` as the client addressed it (see the module comment). */
export function publicUrl(url: string, headers: Headers, peer: string | null, trusted: ReadonlySet<string>): string {
  if (!isTrustedPeer(peer, trusted)) return url;
  const first = (name: string) => headers.get(name)?.split(",")[0]?.trim() || null;
  const proto = first("x-forwarded-proto")?.toLowerCase() ?? null; // a scheme in any letter case (RFC 3986, 3.1)
  const host = first("x-forwarded-host");
  if (proto === null && host === null) return url;
  const u = new URL(url);
  if (proto === "http" || proto === "https") u.protocol = `${proto}:`;
  // The host as forwarded, its port included or not (the `host` setter would keep taskmgr's own port);
  // one that makes no valid URL (`example.com:99999`, `[::1`) is ignored like one from an untrusted peer.
  const forwarded = host !== null && /^[a-z0-9.:[\]-]+$/i.test(host) ? URL.parse(`${u.protocol}//${host}`) : null;
  if (forwarded !== null) {
    u.hostname = forwarded.hostname;
    u.port = forwarded.port;
  }
  return u.toString();
}

/** The configuration the HTTP layer reads: which TCP peers' forwarding headers are believed, and which origins' pages may call it (CORS). */
export type HttpConfig = Pick<Config, "trustedProxies" | "corsOrigins">;

/** Gives handlers `publicUrl()`: the request's URL as the client addressed it (worked out only by the lists that call it). */
export const publicUrlOf = (config: HttpConfig) =>
  new Elysia().derive({ as: "scoped" }, ({ request, server }) => ({
    publicUrl: () => {
      const origin = originOf(request, server);
      return publicUrl(origin.url, request.headers, origin.peer, config.trustedProxies);
    },
  }));
