/** A route as Elysia lists it, with the `query` schema it was declared with (if any). */
interface RouteWithQuery {
  method: string;
  path: string;
  hooks?: { query?: { properties?: Record<string, unknown> } };
}

/**
 * The query parameters each route declares (its `query` schema's properties), by method and route
 * path (HEAD as GET), each looked up in `routes()` once.
 */
export function declaredQueries(routes: () => readonly RouteWithQuery[]): (method: string, path: string) => ReadonlySet<string> {
  const cache = new Map<string, ReadonlySet<string>>();
  return (method, path) => {
    const m = method === "HEAD" ? "GET" : method;
    const key = `${m} ${path}`;
    let names = cache.get(key);
    if (names === undefined) {
      const route = routes().find((r) => r.method === m && r.path === path);
      names = new Set(Object.keys(route?.hooks?.query?.properties ?? {}));
      cache.set(key, names);
    }
    return names;
  };
}
