/**
 * 405 for a known path asked with a method it does not take: the methods a path answers are derived
 * from the routes the app registered (never a hand-written table), so a new route is covered at once.
 */
import { DomainError } from "../errors";

/** A route as the app registered it: its method and path (`/api/tasks/:id`). */
export interface RegisteredRoute {
  method: string;
  path: string;
}

/** Methods in the order `Allow` lists them; others follow alphabetically. */
const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length);

/** Path segments, a trailing slash ignored (the app is `strictPath: false`: `/api/tasks/` is `/api/tasks`). */
const segments = (path: string): string[] => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path).split("/");

/** Whether the route path `pattern` matches `path`: `:name` is any one non-empty segment, `*` the rest. */
function matches(pattern: string[], path: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === "*") return true;
    if (i >= path.length) return false;
    if (p.startsWith(":") ? path[i] === "" : p !== path[i]) return false;
  }
  return pattern.length === path.length;
}

/**
 * The methods `pathname` answers, in `Allow` order: those of every registered route whose path
 * matches it, and HEAD wherever GET is (the app answers HEAD with the GET route, without its body).
 * Empty for a path no route matches (404).
 */
export function allowedMethods(routes: readonly RegisteredRoute[], pathname: string): string[] {
  const path = segments(pathname);
  const allowed = new Set<string>();
  for (const r of routes) if (matches(segments(r.path), path)) allowed.add(r.method.toUpperCase());
  if (allowed.has("GET")) allowed.add("HEAD");
  return [...allowed].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The path pattern of the route that takes `method` at `pathname` (HEAD as GET), else of any route
 * at that path (a 405), or null: for requests answered before or without routing (413, 400, 405),
 * whose route the router never looked up.
 */
export function routeOf(routes: readonly RegisteredRoute[], method: string, pathname: string): string | null {
  const wanted = method.toUpperCase() === "HEAD" ? "GET" : method.toUpperCase();
  const path = segments(pathname);
  const atPath = routes.filter((r) => matches(segments(r.path), path));
  return (atPath.find((r) => r.method.toUpperCase() === wanted) ?? atPath[0])?.path ?? null;
}

/** 405 `method_not_allowed`: `details.allow` and the `Allow` header list the methods the path takes. */
export const methodNotAllowed = (method: string, allowed: readonly string[]): DomainError =>
  new DomainError("method_not_allowed", `${method} is not allowed here; this path takes ${allowed.join(", ")}`, { allow: [...allowed] }, { allow: allowed.join(", ") });
