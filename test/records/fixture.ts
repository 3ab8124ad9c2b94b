import { beforeAll } from "bun:test";
import type { Database } from "../../src/db/types";
import type { Clock } from "../../src/time";
import { createTestApp, type TestApp, type TestResponse, type TestUser } from "../support/app";

export interface World {
  t: TestApp;
  /** A member of organization A. */
  a: TestUser;
  /** Another member of organization A. */
  a2: TestUser;
  /** A member of organization B. */
  b: TestUser;
  /** `request` as user `u`. */
  as(u: TestUser): (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<TestResponse<any>>;
}

/** Real time, but strictly increasing by at least 1 ms per reading: records created one after another never share a timestamp. */
export function tickingClock(): Clock {
  let last = 0;
  return {
    now() {
      last = Math.max(Date.now(), last + 1);
      return new Date(last);
    },
  };
}

/** One app with two organizations (A with two users, B with one), built once per suite. */
export function world(db: () => Database): World {
  const w = {} as World;
  beforeAll(async () => {
    w.t = await createTestApp(db(), { clock: tickingClock() });
    w.a = await w.t.createUser();
    w.a2 = await w.t.createUser({ org: w.a.org.slug });
    w.b = await w.t.createUser();
    w.as = (u) => (method, path, body, headers) => w.t.request(method, path, { token: u.token, body, headers });
  });
  return w;
}

/** Rows of a table in one organization (to prove that a refused request created nothing). */
export async function countRows(db: Database, table: "tasks" | "projects" | "comments" | "history" | "feed", orgId: string): Promise<number> {
  const r = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE org_id = ?`, [orgId]);
  return Number(r!.n);
}
