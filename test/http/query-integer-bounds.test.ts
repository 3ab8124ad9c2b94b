/**
 * Every integer query parameter the OpenAPI document declares is refused outside the bounds it
 * documents (`minimum`, `maximum`) with a 422 naming it and saying those bounds, and taken at them:
 * the document and the check are one definition (`QueryInteger`'s bounds, src/wire/query.ts).
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

interface Param {
  name: string;
  in: string;
  schema?: { type?: string; minimum?: number; maximum?: number };
}

forEachDialect("integer query parameters", ({ db }) => {
  let t: TestApp;
  let u: TestUser;
  let device: string;
  let task: string;
  beforeAll(async () => {
    t = await createTestApp(db());
    u = await t.createUser({ role: "admin" });
    device = u.deviceId!;
    task = (await t.request("POST", "/api/tasks", { token: u.token, body: { title: "bounded" } })).body.id;
  });

  /** The document's GET paths with their integer query parameters, as requests (path parameters and required ones filled in). */
  async function integerParams(): Promise<{ path: string; base: string; param: Param }[]> {
    const doc = (await t.request("GET", "/api/schema")).body as { paths: Record<string, Record<string, { parameters?: Param[] }>> };
    const out: { path: string; base: string; param: Param }[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const params = ops.get?.parameters ?? [];
      const url = path.replace("{id}", task);
      const base = params.some((p) => p.in === "query" && p.name === "device_id") ? `${url}?device_id=${device}&` : `${url}?`;
      for (const param of params) if (param.in === "query" && param.schema?.type === "integer") out.push({ path, base, param });
    }
    return out;
  }

  test("each integer query parameter is checked against the bounds the document gives it", async () => {
    const params = await integerParams();
    // The lists' page parameters and the pull's limit, at least.
    expect(params.map((p) => `${p.path} ${p.param.name}`)).toEqual(expect.arrayContaining(["/api/tasks page", "/api/tasks page_size", "/api/sync/pull limit"]));
    for (const { path, base, param } of params) {
      const { minimum, maximum } = param.schema!;
      expect({ path, name: param.name, minimum: typeof minimum, maximum: typeof maximum }).toEqual({ path, name: param.name, minimum: "number", maximum: "number" });
      const reason = `must be an integer from ${minimum} to ${maximum}`;
      for (const outside of [BigInt(minimum!) - 1n, BigInt(maximum!) + 1n]) {
        const r = await t.request("GET", `${base}${param.name}=${outside}`, { token: u.token });
        expect({ path, param: param.name, outside: String(outside), status: r.status, fields: r.body?.error?.details?.fields }).toEqual({
          path,
          param: param.name,
          outside: String(outside),
          status: 422,
          fields: { [param.name]: reason },
        });
      }
      for (const bound of [minimum, maximum]) {
        const r = await t.request("GET", `${base}${param.name}=${bound}`, { token: u.token });
        expect({ path, param: param.name, bound, status: r.status }).toEqual({ path, param: param.name, bound, status: 200 });
      }
    }
  });
});
