/**
 * The one direction of dependencies (CONTRIBUTING.md, "Layout"): cli → src/app.ts (composition root)
 * → routes → services → repositories → src/db, and pure logic standing alone. Every import of every
 * `.ts` file under src/ and cli/ is read and checked against the rules below; an exception names its
 * one edge and why it is allowed, so that a new edge of the same kind still fails.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

/** One import: `from` and `to` relative to the repository (`src/db/types`, no extension) or a package name. */
interface Edge {
  from: string;
  to: string;
  /** `import type` / `export type`, or every name in braces marked `type`: erased when compiled. */
  typeOnly: boolean;
}

// `import … from "x"`, `import "x"`, `export … from "x"`, across lines; `import("x")`; `require("x")`.
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?(?:([\w\s{},*$]*?)\s*from\s*)?["']([^"']+)["']/gm;
const DYNAMIC = /\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g;

/** The module an import names: a repository path without extension for a relative import, else the package. */
function target(file: string, spec: string): string {
  if (!spec.startsWith(".")) return spec;
  return relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replace(/\.(ts|js)$/, "").replace(/\/index$/, "");
}

/** Every import of `file` (a path relative to the repository), as written in its source. */
function importsOf(file: string, source: string): Edge[] {
  const edges: Edge[] = [];
  for (const m of source.matchAll(STATIC)) {
    const [, , typeKeyword, clause, spec] = m;
    const names = /^\{([^}]*)\}$/.exec((clause ?? "").trim())?.[1]?.split(",").map((s) => s.trim()).filter(Boolean);
    const inlineTypes = names !== undefined && names.length > 0 && names.every((n) => n.startsWith("type "));
    edges.push({ from: file, to: target(file, spec!), typeOnly: typeKeyword !== undefined || inlineTypes });
  }
  for (const m of source.matchAll(DYNAMIC)) edges.push({ from: file, to: target(file, m[1]!), typeOnly: false });
  return edges;
}

const FILES = [...new Bun.Glob("{src,cli}/**/*.ts").scanSync(ROOT)].filter((f) => !f.endsWith(".d.ts")).sort();
const SOURCES = FILES.map((f): [string, string] => [f, readFileSync(join(ROOT, f), "utf8")]);
const EDGES = SOURCES.flatMap(([f, source]) => importsOf(f, source));

const module = (f: string) => f.replace(/\.ts$/, "");
const isCli = (m: string) => m.startsWith("cli/");
const isDb = (m: string) => m.startsWith("src/db/");
const isRoutes = (m: string) => /^src\/.+\/routes$/.test(m);
const isRepo = (m: string) => /^src\/.+(\/|-)repo$/.test(m);
const isService = (m: string) => /^src\/.+(\/|-)service$/.test(m);
/** The HTTP edge: Elysia plugins and what only they use (CONTRIBUTING: only these import src/http/). */
const isEdge = (m: string) =>
  isRoutes(m) || m.startsWith("src/http/") || m.startsWith("src/docs/") || ["src/app", "src/server", "src/records/http", "src/auth/guard"].includes(m);
/** The composition roots: the HTTP app, its server, and the one place that builds every service. */
const ROOTS = ["src/app", "src/server", "src/services"];

/**
 * Pure logic: no I/O, tested table-driven. These and what they import at run time (followed to the
 * end) may reach only each other, the wire schemas and the packages in {@link PURE_PACKAGES}.
 */
const PURE = [
  "src/records/clock",
  "src/records/json",
  "src/sync/merge",
  "src/sync/text-merge",
  ...FILES.map(module).filter((m) => m.startsWith("src/wire/") || m.endsWith("/model")),
];
/** Packages without I/O that pure logic may use: schema builders (the `t` model) and the text diff. */
const PURE_PACKAGES = ["elysia", "@sinclair/typebox", "diff"];
/** Edges from pure logic to a module that could do I/O but is used without it: `from -> to` → why. */
const PURE_EXCEPTIONS: Record<string, string> = {
  "src/wire/client-address -> node:net": "isIP only: reads an address's text, opens no socket",
};
/** What does I/O, or leads to it: storage, repositories, services, logging, the clock, and I/O packages. */
const doesIo = (m: string) =>
  isDb(m) || isRepo(m) || isService(m) || isEdge(m) || ROOTS.includes(m) || isCli(m) || m === "src/log/logger" || m === "src/time" || m === "src/config" ||
  (!m.startsWith("src/") && !m.startsWith("cli/") && !PURE_PACKAGES.includes(m));

/**
 * What the CLI may take from src/db: opening, migrating and naming a database, and telling its
 * failures apart. Data goes through the services (src/services.ts), as HTTP's does.
 */
const CLI_DB_ALLOWED: Record<string, string> = {
  "src/db/open": "opens the database a command runs on",
  "src/db/migrate": "`migrate` and every command's pending migrations",
  "src/db/url": "names the database (redacted) and tells SQLite files from Postgres",
  "src/db/types": "the Database handle's type, passed to createServices",
  "src/db/errors": "tells a lock held too long (busy) from other failures",
  "src/db/postgres": "LOCK_TIMEOUT_MS, named in the busy message",
  "src/db/sqlite": "SQLITE_BUSY_TIMEOUT_MS, named in the busy message",
  "src/db/planner": "`serve` warns at start when Postgres gathers no planner statistics",
};

/** A statement of SQL in a source text. */
const SQL = /\b(SELECT [\w*(]|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)/;
/** Where no SQL is written: the CLI, the HTTP edge, services, models and the wire formats (routes are thin; services call repositories). */
const writesNoSql = (m: string) => isCli(m) || isEdge(m) || isService(m) || m.endsWith("/model") || m.startsWith("src/wire/") || PURE.includes(m);
/** Files of those that hold SQL, and why. */
const SQL_EXCEPTIONS: Record<string, string> = {
  "cli/context.ts": "`SELECT 1`: waits, with a timeout, for a database just opened to answer at all; it reads no data",
};

/** Rules: each returns why an edge is wrong, or undefined. */
const RULES: { name: string; broken: (e: Edge) => string | undefined }[] = [
  { name: "src/ never imports cli/", broken: (e) => (e.from.startsWith("src/") && isCli(e.to) ? "src imports the CLI" : undefined) },
  {
    name: "src/db imports only src/db (storage knows no feature)",
    broken: (e) => (isDb(module(e.from)) && e.to.startsWith("src/") && !isDb(e.to) ? "storage imports a feature or a root" : undefined),
  },
  {
    name: "only cli/ and src/server.ts import src/app.ts; only cli/ imports src/server.ts",
    broken: (e) =>
      (e.to === "src/app" && !isCli(e.from) && module(e.from) !== "src/server") || (e.to === "src/server" && !isCli(e.from)) ? "imports the HTTP composition root" : undefined,
  },
  {
    name: "src/services.ts is imported only by the roots, the HTTP edge and cli/ (services take src/deps.ts)",
    broken: (e) => (e.to === "src/services" && !isCli(e.from) && !isEdge(module(e.from)) ? "imports the services' composition root" : undefined),
  },
  {
    name: "nothing below the HTTP edge imports it (routes, src/http, src/docs, guards)",
    broken: (e) => (isEdge(e.to) && !isEdge(module(e.from)) && !isCli(e.from) ? "a service, repository or model imports the HTTP edge" : undefined),
  },
  {
    name: "a routes.ts imports no repository and no storage (routes call a service)",
    broken: (e) => (isRoutes(module(e.from)) && (isRepo(e.to) || (isDb(e.to) && !e.typeOnly)) ? "a route reaches storage without its service" : undefined),
  },
  {
    name: "a repository imports no service",
    broken: (e) => (isRepo(module(e.from)) && isService(e.to) && !e.typeOnly ? "a repository calls a service" : undefined),
  },
  {
    name: "cli/ reaches data through the services: no repository, and only the lifecycle of src/db",
    broken: (e) => (isCli(e.from) && (isRepo(e.to) || (isDb(e.to) && !(e.to in CLI_DB_ALLOWED))) ? "the CLI reads or writes data around the services" : undefined),
  },
  {
    name: "jobs are scheduled only by `serve`",
    broken: (e) => (e.to === "src/jobs/schedule" && e.from !== "cli/serve.ts" ? "schedules jobs outside `serve`" : undefined),
  },
];

/**
 * The modules `start` imports at run time, each with the path that reaches it: followed to the end,
 * but not into a module that does I/O (reaching it is the finding). Type-only imports are erased, so not followed.
 */
function runtimeClosure(start: string, edges: Edge[]): Map<string, string[]> {
  const byFrom = new Map<string, Edge[]>();
  for (const e of edges) if (!e.typeOnly) byFrom.set(module(e.from), [...(byFrom.get(module(e.from)) ?? []), e]);
  const paths = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const m = queue.shift()!;
    for (const e of byFrom.get(m) ?? []) {
      if (paths.has(e.to)) continue;
      paths.set(e.to, [...paths.get(m)!, e.to]);
      if (e.to.startsWith("src/") && !doesIo(e.to)) queue.push(e.to);
    }
  }
  return paths;
}

/** Every broken rule among `edges`, one line each (`file -> module: rule`). */
function violations(edges: Edge[], sources: [file: string, source: string][] = []): string[] {
  const found: string[] = [];
  for (const e of edges) for (const r of RULES) if (r.broken(e)) found.push(`${e.from} -> ${e.to}: ${r.name}`);
  for (const p of PURE) {
    for (const [m, path] of runtimeClosure(p, edges)) {
      const edge = `${path.at(-2)} -> ${m}`;
      if (m !== p && doesIo(m) && !(edge in PURE_EXCEPTIONS)) found.push(`${p} -> ${path.slice(1).join(" -> ")}: pure logic reaches I/O`);
    }
  }
  for (const [file, source] of sources) {
    if (!writesNoSql(module(file)) || !SQL.test(source) || file in SQL_EXCEPTIONS) continue;
    found.push(`${file}: SQL outside storage (repositories, src/db and the records' storage modules)`);
  }
  return found;
}

describe("architecture: the direction of imports", () => {
  test("the import reader finds every import the transpiler finds", () => {
    const transpiler = new Bun.Transpiler({ loader: "ts" });
    expect(FILES.length).toBeGreaterThan(100);
    for (const f of FILES) {
      const source = readFileSync(join(ROOT, f), "utf8");
      const read = new Set(importsOf(f, source).map((e) => e.to));
      const missed = transpiler.scanImports(source).map((i) => target(f, i.path)).filter((m) => !read.has(m));
      expect({ file: f, missed }).toEqual({ file: f, missed: [] });
    }
  });

  test("the reader tells type-only imports apart", () => {
    const edges = importsOf("src/x/service.ts", `import type { A } from "./a";\nimport { type B, type C } from "../b";\nimport {\n  type D,\n  E,\n} from "./d";\nexport * from "./e";\nconst f = await import("../f");`);
    expect(edges).toEqual([
      { from: "src/x/service.ts", to: "src/x/a", typeOnly: true },
      { from: "src/x/service.ts", to: "src/b", typeOnly: true },
      { from: "src/x/service.ts", to: "src/x/d", typeOnly: false },
      { from: "src/x/service.ts", to: "src/x/e", typeOnly: false },
      { from: "src/x/service.ts", to: "src/f", typeOnly: false },
    ]);
  });

  test("every import of src/ and cli/ goes the one way", () => {
    expect(violations(EDGES, SOURCES)).toEqual([]);
  });

  test("each rule catches the import it is about", () => {
    const planted: [Edge, string][] = [
      [{ from: "src/tasks/service.ts", to: "cli/output", typeOnly: false }, "src/ never imports cli/"],
      [{ from: "src/db/bulk.ts", to: "src/records/model", typeOnly: true }, "src/db imports only src/db"],
      [{ from: "src/records/write.ts", to: "src/app", typeOnly: false }, "only cli/ and src/server.ts import src/app.ts"],
      [{ from: "src/tasks/service.ts", to: "src/services", typeOnly: true }, "src/services.ts is imported only by"],
      [{ from: "src/tasks/repo.ts", to: "src/tasks/routes", typeOnly: true }, "nothing below the HTTP edge"],
      [{ from: "src/records/write.ts", to: "src/http/errors", typeOnly: false }, "nothing below the HTTP edge"],
      [{ from: "src/tasks/routes.ts", to: "src/tasks/repo", typeOnly: false }, "a routes.ts imports no repository"],
      [{ from: "src/tasks/repo.ts", to: "src/tasks/service", typeOnly: false }, "a repository imports no service"],
      [{ from: "cli/users.ts", to: "src/users/repo", typeOnly: false }, "cli/ reaches data through the services"],
      [{ from: "cli/users.ts", to: "src/db/bulk", typeOnly: false }, "cli/ reaches data through the services"],
      [{ from: "cli/users.ts", to: "src/jobs/schedule", typeOnly: false }, "jobs are scheduled only by `serve`"],
      [{ from: "src/records/clock.ts", to: "node:fs", typeOnly: false }, "pure logic reaches I/O"],
      [{ from: "src/wire/schema.ts", to: "src/db/raw", typeOnly: false }, "pure logic reaches I/O"],
    ];
    for (const [edge, rule] of planted) {
      const found = violations([...EDGES, edge], SOURCES);
      expect({ edge, found: found.some((v) => v.includes(rule)) }).toEqual({ edge, found: true });
    }
  });

  test("SQL is caught outside storage", () => {
    for (const file of ["src/tasks/routes.ts", "src/tasks/service.ts", "cli/users.ts", "src/tasks/model.ts"]) {
      const found = violations([], [[file, "const rows = await exec.all(`SELECT id FROM tasks WHERE org_id = ?`, [orgId]);"]]);
      expect(found).toEqual([`${file}: SQL outside storage (repositories, src/db and the records' storage modules)`]);
    }
    expect(violations([], [["src/tasks/repo.ts", "await exec.run(`DELETE FROM tasks WHERE id = ?`, [id]);"]])).toEqual([]);
  });
});
