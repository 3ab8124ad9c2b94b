/**
 * Requests the server hands to the app as copies of the ones Bun received: a chunked body read ahead
 * (to refuse an oversized one with the contract's 413), or a URL whose host is too short for Elysia's
 * router (it looks for the path from the URL's 12th character on, so `http://app/api/health` — a
 * reverse proxy's `Host: app` — would be routed as `/health`). Bun knows the TCP peer of the original
 * only (`server.requestIP` answers null for a copy), and the copy's URL may not be the one the client
 * used: both are remembered here for the copy, and read back through {@link originOf}.
 */
import type { Server } from "bun";

interface Origin {
  /** The URL as the client addressed this server. */
  url: string;
  /** The TCP peer's address (null when unknown). */
  peer: string | null;
}

const origins = new WeakMap<Request, Origin>();

/** `copy`, remembered as standing for `original` (received by `server`). */
export function standingFor(copy: Request, original: Request, server: Pick<Server<undefined>, "requestIP">): Request {
  origins.set(copy, originOf(original, server));
  return copy;
}

/** The URL the client used and its TCP peer, for a request Bun received or a copy made of one. */
export function originOf(request: Request, server: Pick<Server<undefined>, "requestIP"> | null | undefined): Origin {
  return origins.get(request) ?? { url: request.url, peer: server?.requestIP(request)?.address ?? null };
}

/** The shortest `scheme://host[:port]` Elysia routes right: its path must start at index 11 or later. */
const MIN_PATH_START = 11;

/**
 * `request` with a URL Elysia's router reads right, else itself: a copy on `localhost` when its host
 * is too short, and when it has none (an empty `Host` header: Bun then gives the path alone) a copy
 * whose origin is the address the server listens on. (Run before a chunked body is read, whose
 * copy carries the mark of an oversized one: src/server.ts.)
 */
export function routable(request: Request, server: Pick<Server<undefined>, "requestIP" | "url">): Request {
  const url = request.url;
  const authority = url.indexOf("://");
  const pathStart = authority === -1 ? 0 : url.indexOf("/", authority + 3);
  if (pathStart >= MIN_PATH_START || (authority !== -1 && pathStart === -1)) return request;
  const path = url.slice(pathStart);
  const copy = new Request(`http://localhost${path}`, request);
  const origin = originOf(request, server);
  origins.set(copy, authority === -1 ? { url: `${server.url.origin}${path}`, peer: origin.peer } : origin);
  return copy;
}
