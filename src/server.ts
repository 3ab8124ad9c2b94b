import type { Server } from "bun";
import type { App } from "./app";
import { MAX_BODY_BYTES } from "./http/body";
import { answer } from "./http/errors";
import { originOf, routableUrl, standingFor } from "./http/origin";

/**
 * Bun's own body limit. Bun answers a body above it with a bare 413 before the app sees the
 * request, so it sits far above `MAX_BODY_BYTES`: every declared size reaches the app, which
 * refuses it (413 with the contract's error body) without reading it.
 */
const TRANSPORT_BODY_LIMIT = 1024 * 1024 * 1024;

export interface ServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

/** A listening HTTP server. */
export interface RunningServer {
  /** The URL it listens on, with the port actually chosen, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  /**
   * From now on every answer carries `Connection: close`: a client then sends its next request on a
   * new connection (to another instance, behind a load balancer) instead of on this one, which the
   * coming {@link stop} closes — a request sent on it then would be reset unanswered.
   */
  drain(): void;
  /** Stops accepting connections, waits for requests in flight, then resolves. `force` cuts them off. */
  stop(force?: boolean): Promise<void>;
}

/** Serves `app` with Bun.serve. Throws when the address cannot be bound (e.g. the port is in use). */
export function startServer(app: App, opts: ServerOptions): RunningServer {
  app.compile();
  let draining = false;
  const server: Server<undefined> = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    reusePort: false,
    development: false,
    idleTimeout: 30,
    maxRequestBodySize: TRANSPORT_BODY_LIMIT,
    fetch: async (request, self) => {
      const response = await app.fetch(await forApp(request, self));
      return draining ? closingConnection(response) : response;
    },
    error: () => answer("internal", "internal server error"),
  });
  app.server = server;
  const host = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${server.port}`,
    port: server.port!,
    drain: () => {
      draining = true;
    },
    stop: async (force = false) => {
      await server.stop(force);
      app.server = null;
    },
  };
}

/**
 * The request the app gets: the one Bun received, or one copy of it when its URL must change
 * ({@link routableUrl}) or its body came without `Content-Length` (chunked). Such a body is read here,
 * from the request Bun received, up to the limit: the app gets it whole, or, when it is over the
 * limit, a copy without it whose origin says so, which the app refuses (413 with the contract's body,
 * logged and counted) as it refuses a declared size over the limit. (Left unread through a copy, the
 * rest of a chunked body kept Bun from ever sending the answer.)
 */
async function forApp(request: Request, server: Server<undefined>): Promise<Request> {
  const rerouted = routableUrl(request, server);
  const undeclared = request.body !== null && !request.headers.has("content-length");
  if (rerouted === null && !undeclared) return request;
  const origin = rerouted?.origin ?? originOf(request, server);
  const url = rerouted?.url ?? request.url;
  let copy: Request;
  if (origin.invalidHost) {
    copy = new Request(url, { method: request.method, headers: request.headers }); // answered 400: its body is not read
  } else if (undeclared) {
    const body = await readUpTo(request.body!, MAX_BODY_BYTES);
    copy = new Request(url, { method: request.method, headers: request.headers, body });
    if (body === null) origin.oversized = true;
  } else {
    copy = new Request(url, request);
  }
  return standingFor(copy, origin);
}

/** The bytes of `body`, or null when there are more than `limit` (then it is left unread after that). */
async function readUpTo(body: ReadableStream<Uint8Array>, limit: number): Promise<Buffer | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `response` with `Connection: close` (a copy when its headers cannot be changed). */
function closingConnection(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}
