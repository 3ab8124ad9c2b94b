/**
 * Requests the server hands to the app as copies of the ones Bun received (src/server.ts): a URL
 * Elysia's router would not read right — a host too short (it looks for the path from the URL's 12th character on, so
 * `http://app/api/health`, a reverse proxy's `Host: app`, would be routed as `/health`), none, or one
 * that makes no valid URL. Bun knows the TCP peer of the original only (`server.requestIP` answers
 * null for a copy), and the copy's URL may not be the one the client used: both are remembered here
 * for the copy, and read back through {@link originOf}.
 */
import type { Server } from "bun";
import { DomainError } from "../errors";

interface Origin {
  /** The URL as the client addressed this server. */
  url: string;
  /** The TCP peer's address (null when unknown). */
  peer: string | null;
  /** Its `Host` header named no valid host and port: the app answers 400. */
  invalidHost?: boolean;
}

const origins = new WeakMap<Request, Origin>();

/** `copy` (made by the server of a request Bun received), remembered as coming from `origin`. */
export function standingFor(copy: Request, origin: Origin): Request {
  origins.set(copy, origin);
  return copy;
}

/** The URL the client used and its TCP peer, for a request Bun received or a copy made of one. */
export function originOf(request: Request, server: Pick<Server<undefined>, "requestIP"> | null | undefined): Origin {
  return origins.get(request) ?? { url: request.url, peer: server?.requestIP(request)?.address ?? null };
}

/** Whether `request` is the copy of one whose `Host` header named no valid host and port (the app answers 400). */
export function hasInvalidHost(request: Request): boolean {
  return origins.get(request)?.invalidHost === true;
}

/** The shortest `scheme://host[:port]` Elysia routes right: its path must start at index 11 or later. */
const MIN_PATH_START = 11;

/** Where the app must see a request whose URL Elysia would not route right (see {@link routableUrl}). */
export interface Rerouted {
  /** The URL for the app's copy: the path on `localhost`. */
  url: string;
  /** What the client used, for links and the client's address. */
  origin: Origin;
}

/**
 * Null when Elysia's router reads `request`'s URL right; else the URL its copy must have, on
 * `localhost`: when the host is too short, when there is none (an empty `Host` header: Bun then gives
 * the path alone; links then use the address the server listens on), and when the `Host` header makes
 * no valid URL (`example.com:99999`, `[::1`: answered 400, logged like any request).
 */
export function routableUrl(request: Request, server: Pick<Server<undefined>, "requestIP" | "url">): Rerouted | null {
  const url = request.url;
  const authority = url.indexOf("://");
  const pathStart = authority === -1 ? 0 : url.indexOf("/", authority + 3);
  const invalidHost = authority !== -1 && !URL.canParse(url);
  if (!invalidHost && (pathStart >= MIN_PATH_START || (authority !== -1 && pathStart === -1))) return null;
  const path = pathStart === -1 ? "/" : url.slice(pathStart);
  const peer = originOf(request, server).peer;
  const own = authority === -1 || invalidHost;
  const origin: Origin = { url: own ? `${server.url.origin}${path}` : url, peer };
  if (invalidHost) origin.invalidHost = true;
  return { url: `http://localhost${path}`, origin };
}

/** The 400 `bad_request` of a request whose `Host` header names no valid host and port. */
export const invalidHost = () => new DomainError("bad_request", "the Host header is not a valid host and port");
