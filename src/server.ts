import type { Server } from "bun";
import type { App } from "./app";
import { answer } from "./http/errors";
import type { Logger } from "./log/logger";
import { routableUrl, standingFor } from "./http/origin";

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
  /**
   * Where a failure that escaped the app (and is answered with the last-resort 500) is logged, as
   * `request_failed` with its stack and `escaped_app`: the app maps every failure of a request itself, so one
   * reaching Bun is a defect to find in the log.
   */
  log?: Logger;
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
      const response = await app.fetch(forApp(request, self));
      return draining ? closingConnection(response) : response;
    },
    error: (error) => {
      opts.log?.error("request_failed", { error: error.message, stack: error.stack, escaped_app: true });
      return answer("internal", "internal server error");
    },
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
 * ({@link routableUrl}). Its body is not read here: the app reads it once it has authenticated the
 * caller, up to the limit (src/http/body.ts), whether its size is declared or it comes chunked. A
 * copy takes a chunked body as the received one's stream: copied with the request
 * (`new Request(url, request)`), a body the app stopped reading at the limit kept Bun from ever
 * sending the answer.
 */
function forApp(request: Request, server: Server<undefined>): Request {
  const rerouted = routableUrl(request, server);
  if (rerouted === null) return request;
  const { url, origin } = rerouted;
  const undeclared = request.body !== null && !request.headers.has("content-length");
  let copy: Request;
  if (origin.invalidHost) {
    copy = new Request(url, { method: request.method, headers: request.headers }); // answered 400: its body is not read
  } else if (undeclared) {
    copy = new Request(url, { method: request.method, headers: request.headers, body: request.body });
  } else {
    copy = new Request(url, request);
  }
  return standingFor(copy, origin);
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
