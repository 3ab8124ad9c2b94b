/** The client address behind trusted proxies: the pure rule, the TRUSTED_PROXIES setting, and the login limit over a real socket. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { LOGIN_FAILURES_ALLOWED } from "../../src/auth/rate-limit";
import { ConfigError, loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/open";
import { migrate } from "../../src/db/migrate";
import { clientAddress, loginBudgetAddress, parseTrustedProxies } from "../../src/wire/client-address";
import { publicUrl } from "../../src/http/public-url";
import { type RunningServer, startServer } from "../../src/server";
import { createTestApp, type TestApp } from "../support/app";

describe("clientAddress", () => {
  const trusted = parseTrustedProxies("10.0.0.1, 10.0.0.2");
  const cases: [string, string | null, string | null, string][] = [
    ["no proxies trusted: the peer, header ignored", "203.0.113.5", "198.51.100.1", "203.0.113.5"],
    ["trusted peer without header: the peer", "10.0.0.1", null, "10.0.0.1"],
    ["trusted peer: the address it appended", "10.0.0.1", "198.51.100.1", "198.51.100.1"],
    ["a client-written entry left of the real one is ignored", "10.0.0.1", "1.2.3.4, 198.51.100.1", "198.51.100.1"],
    ["chained trusted proxies are skipped from the right", "10.0.0.1", "198.51.100.1, 10.0.0.2", "198.51.100.1"],
    ["only trusted hops: the leftmost", "10.0.0.1", "10.0.0.2", "10.0.0.2"],
    ["untrusted peer with a header: the peer", "203.0.113.5", "198.51.100.1", "203.0.113.5"],
    ["IPv4-mapped IPv6 peer counts as the IPv4 proxy", "::ffff:10.0.0.1", "198.51.100.1", "198.51.100.1"],
    ["empty entries are skipped", "10.0.0.1", " , 198.51.100.1 ,", "198.51.100.1"],
    ["unknown peer (no socket)", null, "198.51.100.1", "local"],
    ["a port some proxies append is dropped (one bucket per client, not per connection)", "10.0.0.1", "198.51.100.1:5555", "198.51.100.1"],
    ["a bracketed IPv6 entry with a port", "10.0.0.1", "[2001:DB8::1]:443", "2001:db8::1"],
    ["leading zeros in an IPv4 entry do not make another address", "10.0.0.1", "198.051.100.001", "198.51.100.1"],
    ["an entry that is not an address: the peer", "10.0.0.1", "garbage", "10.0.0.1"],
    ["a trusted proxy written with a port is still skipped", "10.0.0.1", "198.51.100.1, 10.0.0.2:80", "198.51.100.1"],
    ["no proxies trusted: an IPv4-mapped peer (a dual-stack listener) is its IPv4 address", "::ffff:203.0.113.5", null, "203.0.113.5"],
  ];
  for (const [name, peer, header, want] of cases) {
    test(name, () => expect(clientAddress(peer, header, name.startsWith("no proxies") ? new Set() : trusted)).toBe(want));
  }

  test("TRUSTED_PROXIES: IPv4 and IPv6 addresses; anything else is a configuration error", () => {
    expect([...loadConfig({}, { TRUSTED_PROXIES: "127.0.0.1, ::1 ,FD00::7" }).trustedProxies]).toEqual(["127.0.0.1", "::1", "fd00::7"]);
    expect(loadConfig({}, {}).trustedProxies.size).toBe(0);
    // With a port, or not an address at all though made of hex digits, dots and colons: refused, not
    // kept as an "address" that no peer ever matches (the proxy silently not trusted).
    for (const bad of ["10.0.0.0/8", "proxy.local", "300.1.1.1", "10.0.0.1:8080", "010.0.0.1", "1:2", "abc:def", "::::"]) {
      expect(() => loadConfig({}, { TRUSTED_PROXIES: bad })).toThrow(ConfigError);
    }
  });
});

describe("TRUSTED_PROXIES in another spelling of the proxy's IPv6 address", () => {
  // Found by reading normalize(): an address was only lower-cased, so a proxy written with leading
  // zeros, zeros not compressed, or IPv4-mapped in hex was accepted at start and then matched no peer
  // (Bun reports peers compressed, RFC 5952): the proxy silently not trusted, as 10.0.0.1:8080 once was.
  test.each([
    ["2001:0db8::1", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["fd00:0:0:0::7", "fd00::7"],
    ["::ffff:a00:1", "::ffff:10.0.0.1"],
  ])("TRUSTED_PROXIES=%s trusts the peer %s: its X-Forwarded-For names the client, its forwarded host the links", (written, peer) => {
    const trusted = parseTrustedProxies(written);
    expect(clientAddress(peer, "198.51.100.1", trusted)).toBe("198.51.100.1");
    expect(publicUrl("http://[fd00::9]:8000/api/tasks", new Headers({ "x-forwarded-proto": "https", "x-forwarded-host": "tasks.example.com" }), peer, trusted)).toBe("https://tasks.example.com/api/tasks");
  });

  test("a trusted proxy's own hop is skipped in whatever spelling the proxy in front wrote it", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.1, 2001:0DB8:0:0::2", parseTrustedProxies("10.0.0.1, 2001:db8::2"))).toBe("198.51.100.1");
  });
});

describe("loginBudgetAddress", () => {
  test.each([
    ["198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::5", "2001:db8:1:2::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["64:ff9b::1.2.3.4", "64:ff9b:0:0::/64"],
    ["::ffff:c633:6407", "198.51.100.7"],
    ["::FFFF:198.51.100.7", "198.51.100.7"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["local", "local"],
  ])("%s → %s", (address, want) => expect(loginBudgetAddress(address)).toBe(want));
});

describe("publicUrl: list links as the client addressed the server", () => {
  const trusted = parseTrustedProxies("10.0.0.1");
  const url = "http://10.0.0.9:8000/api/tasks?page=2";
  const h = (headers: Record<string, string>) => new Headers(headers);
  test.each([
    ["a trusted proxy's scheme and host", "10.0.0.1", { "x-forwarded-proto": "https", "x-forwarded-host": "tasks.example.com" }, "https://tasks.example.com/api/tasks?page=2"],
    ["the outermost value of a list", "10.0.0.1", { "x-forwarded-proto": "https, http", "x-forwarded-host": "a.example.com:8443, b" }, "https://a.example.com:8443/api/tasks?page=2"],
    ["the scheme alone", "10.0.0.1", { "x-forwarded-proto": "https" }, "https://10.0.0.9:8000/api/tasks?page=2"],
    ["headers from a peer that is not trusted", "203.0.113.5", { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }, url],
    ["no peer (in-process)", null, { "x-forwarded-proto": "https" }, url],
    ["a scheme that is not http(s), a host with other characters", "10.0.0.1", { "x-forwarded-proto": "javascript", "x-forwarded-host": "a b/c" }, url],
    // Found by QA: these threw (a 500 on every list with links).
    ["a host whose port is out of range", "10.0.0.1", { "x-forwarded-host": "evil.com:99999" }, url],
    ["a host that makes no URL", "10.0.0.1", { "x-forwarded-proto": "https", "x-forwarded-host": "[::1" }, "https://10.0.0.9:8000/api/tasks?page=2"],
    ["a port that is not a number", "10.0.0.1", { "x-forwarded-host": "a:abc" }, url],
    // Schemes are case-insensitive (RFC 3986, 3.1): HTTPS was ignored, and the links said http://.
    ["a scheme in upper case", "10.0.0.1", { "x-forwarded-proto": "HTTPS", "x-forwarded-host": "tasks.example.com" }, "https://tasks.example.com/api/tasks?page=2"],
  ])("%s", (_name, peer, headers, want) => expect(publicUrl(url, h(headers), peer, trusted)).toBe(want));
});

describe("login rate limit per forwarded client, behind a trusted proxy (real socket)", () => {
  let t: TestApp;
  let server: RunningServer;
  beforeAll(async () => {
    const db = openDatabase("sqlite::memory:");
    await migrate(db);
    t = await createTestApp(db, { config: { trustedProxies: parseTrustedProxies("127.0.0.1") } });
    server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
  });
  afterAll(() => server.stop(true));
  const login = (email: string, password: string, forwardedFor: string) =>
    fetch(`${server.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body: JSON.stringify({ email, password }),
    });

  test("a client that spent its budget is limited; another client behind the same proxy is not", async () => {
    const u = await t.createUser();
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) expect((await login(u.email, "wrong", "198.51.100.1")).status).toBe(401);
    expect((await login(u.email, u.password, "198.51.100.1")).status).toBe(429);
    // A forged entry to the left does not escape the limit: the proxy's own entry is the rightmost.
    expect((await login(u.email, u.password, "203.0.113.77, 198.51.100.1")).status).toBe(429);
    expect((await login(u.email, u.password, "198.51.100.2")).status).toBe(200);
  });

  test("IPv6 clients are limited by their /64: another address of the same /64 shares the budget, another /64 does not", async () => {
    const u = await t.createUser();
    for (let i = 1; i <= LOGIN_FAILURES_ALLOWED; i++) expect((await login(u.email, "wrong", `2001:db8:1:2::${i}`)).status).toBe(401);
    expect((await login(u.email, u.password, "2001:db8:1:2:ffff:ffff:ffff:ffff")).status).toBe(429);
    expect((await login(u.email, u.password, "2001:db8:1:3::1")).status).toBe(200);
  });

  test("list links carry the scheme and host the proxy forwarded", async () => {
    const u = await t.createUser();
    for (let i = 0; i < 2; i++) await t.request("POST", "/api/projects", { token: u.token, body: { name: `p${i}` } });
    const r = await fetch(`${server.url}/api/projects?page_size=1`, {
      headers: { authorization: `Bearer ${u.token}`, "x-forwarded-proto": "https", "x-forwarded-host": "tasks.example.com" },
    });
    const body = (await r.json()) as { next: string };
    expect(body.next).toStartWith("https://tasks.example.com/api/projects?");
  });
});
