import net from "node:net";

/**
 * What the proxy does with a new connection: pass it on, close it (a FIN) when its startup message
 * arrives, or accept it and never answer.
 */
export type ProxyMode = "pass" | "close-at-startup" | "silent";

/**
 * A TCP proxy in front of the test Postgres (in the test's own process, on port 0) that can misbehave
 * at chosen points: close new connections during their startup, or freeze the open ones (their
 * bytes are dropped both ways, the sockets stay open: a connection that makes no progress).
 */
export interface PgProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  mode: ProxyMode;
  /** In mode `pass`, how many connections in all are passed on: later ones are closed at startup. */
  passLimit: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Drops, from now on, every byte of the connections open now (new ones follow {@link mode}). */
  freeze(): void;
  close(): Promise<void>;
}

export async function startPgProxy(target = { host: "127.0.0.1", port: 5432 }): Promise<PgProxy> {
  const open = new Set<{ frozen: boolean; client: net.Socket; server: net.Socket }>();
  let accepted = 0;
  let passed = 0;
  const silent = new Set<net.Socket>();
  const proxy: PgProxy = {
    mode: "pass",
    passLimit: Infinity,
    get accepted() {
      return accepted;
    },
    url(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    freeze() {
      for (const c of open) c.frozen = true;
    },
    async close() {
      for (const c of silent) c.destroy();
      for (const c of open) {
        c.client.destroy();
        c.server.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((client) => {
    accepted++;
    client.on("error", () => {});
    if (proxy.mode === "silent") {
      silent.add(client);
      client.on("close", () => silent.delete(client));
      return;
    }
    if (proxy.mode === "close-at-startup" || passed >= proxy.passLimit) {
      client.once("data", () => client.end());
      return;
    }
    passed++;
    const upstream = net.connect(target.port, target.host);
    const pair = { frozen: false, client, server: upstream };
    open.add(pair);
    upstream.on("error", () => client.destroy());
    client.on("data", (b) => pair.frozen || upstream.write(b));
    upstream.on("data", (b) => pair.frozen || client.write(b));
    client.on("close", () => {
      open.delete(pair);
      upstream.destroy();
    });
    upstream.on("close", () => pair.frozen || client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return proxy;
}
