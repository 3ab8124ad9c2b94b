import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type App } from "../../src/app";
import { loadConfig, type Config, type LogLevel } from "../../src/config";
import type { Database } from "../../src/db/types";
import { createLogger, silentLogger, type Logger } from "../../src/log/logger";
import type { Organization } from "../../src/orgs/model";
import type { Session } from "../../src/auth/service";
import type { Deps } from "../../src/deps";
import { createServices, type Services } from "../../src/services";
import { systemClock, type Clock } from "../../src/time";
import type { Role, User } from "../../src/users/model";

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * The logger of test apps that are given none: silent, or with `TEST_LOG=1` (or a level: `TEST_LOG=debug`)
 * their log lines on stderr. A test that gets a 500 sees only "internal server error"; its cause (an
 * answer that fails its response model, an SQL error) is the `request_failed` line:
 * `TEST_LOG=1 bun test test/records/tasks.test.ts`.
 */
export function testLogger(): Logger {
  const asked = process.env.TEST_LOG;
  if (!asked) return silentLogger;
  const level = (LOG_LEVELS as readonly string[]).includes(asked) ? (asked as LogLevel) : "error";
  return createLogger({ level, console: (line) => console.error(line) });
}

/** The fixed signing secret of test apps (so tokens can be forged on purpose in tests). */
export const TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef";
/** The password `createUser` gives when none is asked for. */
export const TEST_PASSWORD = "correct horse battery staple";
/** Cheap Argon2id parameters: tests create many users. */
const TEST_ARGON2 = { memoryCost: 1024, timeCost: 1 };

/** A configuration for tests: fixed secret, a unique temporary data folder (created only if something writes there). */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = join(tmpdir(), `taskmgr-test-${crypto.randomUUID()}`);
  return {
    ...loadConfig({ db: "sqlite::memory:" }, { TASKMGR_SECRET: TEST_SECRET, TASKMGR_DATA_DIR: dataDir, LOG_DIR: join(dataDir, "logs") }),
    ...overrides,
  };
}

export interface TestResponse<T = any> {
  status: number;
  /** Parsed JSON; the raw text for other content types; null for an empty body. */
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** JSON-encoded unless it is already a string (sent as is, e.g. malformed JSON). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CreateUserOptions {
  /** Slug of an existing organization; a new organization is created when absent. */
  org?: string;
  role?: Role;
  email?: string;
  name?: string;
  password?: string;
  /** A device is registered and bound to the token unless `false`; a string names it. */
  device?: boolean | string;
}

export interface TestUser {
  user: User;
  org: Organization;
  email: string;
  password: string;
  /** An access token (bound to `deviceId` when there is one). */
  token: string;
  refresh: string;
  deviceId: string | null;
}

export interface TestApp {
  app: App;
  services: Services;
  /** What the services were built from (the database, the clock, the logger). */
  deps: Deps;
  config: Config;
  clock: Clock;
  /** Sends one request through `app.handle` (no server). */
  request<T = any>(method: string, path: string, opts?: RequestOptions): Promise<TestResponse<T>>;
  /** A new organization; the slug is derived (and made unique) from the name when not given. */
  createOrg(name?: string, slug?: string): Promise<Organization>;
  /** A user (in a new organization unless `org` is given) with a session, made through the services (no HTTP). */
  createUser(opts?: CreateUserOptions): Promise<TestUser>;
  /** A new session of a user made by `createUser` (a login with its password), optionally bound to a device. */
  session(user: User, deviceId?: string | null): Promise<Session>;
  /** A fresh access token for a user made by `createUser`, optionally bound to a device. */
  tokenFor(user: User, deviceId?: string | null): Promise<string>;
}

/**
 * An app over `db` (already migrated; see `forEachDialect`) built like production: `createServices`
 * + `createApp`, with `testConfig()`, a silent logger (unless `TEST_LOG` is set) and cheap password hashing.
 */
export async function createTestApp(db: Database, opts: { clock?: Clock; config?: Partial<Config>; log?: Logger } = {}): Promise<TestApp> {
  const config = testConfig(opts.config);
  const clock = opts.clock ?? systemClock;
  const deps: Deps = { db, config, clock, log: opts.log ?? testLogger(), argon2: TEST_ARGON2 };
  const services = createServices(deps);
  const app = createApp(services, deps);

  const request = async <T = any>(method: string, path: string, o: RequestOptions = {}): Promise<TestResponse<T>> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await res.text();
    const json = (res.headers.get("content-type") ?? "").includes("json");
    return { status: res.status, body: (text === "" ? null : json ? JSON.parse(text) : text) as T, headers: res.headers };
  };

  const createOrg = (name?: string, slug?: string) => services.orgs.create(name ?? `Org ${crypto.randomUUID().slice(0, 8)}`, slug);

  const createUser = async (o: CreateUserOptions = {}): Promise<TestUser> => {
    const org = o.org !== undefined ? await services.orgs.mustGetBySlug(o.org) : await createOrg();
    const password = o.password ?? TEST_PASSWORD;
    const user = await services.users.create({
      orgId: org.id,
      email: o.email ?? `user-${crypto.randomUUID()}@example.test`,
      name: o.name ?? "Test User",
      role: o.role ?? "member",
      password,
    });
    const deviceId =
      o.device === false ? null : (await services.devices.create({ userId: user.id, orgId: user.orgId }, { name: typeof o.device === "string" ? o.device : "test device" })).id;
    passwords.set(user.id, password);
    const { access, refresh } = await session(user, deviceId);
    return { user, org, email: user.email, password, token: access, refresh, deviceId };
  };

  // Sessions are opened as clients open them: a login with the user's password.
  const passwords = new Map<string, string>();
  const session = (user: User, deviceId: string | null = null) =>
    services.auth.login({ email: user.email, password: passwords.get(user.id) ?? TEST_PASSWORD, device_id: deviceId ?? undefined }, "127.0.0.1");
  const tokenFor = async (user: User, deviceId: string | null = null) => (await session(user, deviceId)).access;

  return { app, services, deps, config, clock, request, createOrg, createUser, session, tokenFor };
}
