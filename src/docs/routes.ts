import { Elysia } from "elysia";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { API_TITLE, buildDocument } from "./document";
import { BUNDLE_PATH, CSS_PATH, DOCS_INIT_SCRIPT, DOCS_PAGE_HEADERS, DOCS_PATH, INIT_PATH, SCHEMA_PATH, docsPage } from "./page";

const hidden = { detail: { hide: true } };

/** An asset embedded in the program (`with { type: "file" }`: a real file when run from source, inside the executable when compiled). */
const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });

/**
 * The stylesheet without its closing `sourceMappingURL` comment: the map is not served, and a browser
 * with its developer tools open would ask for it and log a 404.
 */
const cssWithoutSourceMap = () => {
  let text: Promise<string> | undefined;
  return async () => {
    text ??= Bun.file(swaggerCss)
      .text()
      .then((css) => css.replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, ""))
      .catch((err: unknown) => {
        text = undefined; // read again by the next request
        throw err;
      });
    return new Response(await text, { headers: { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=86400" } });
  };
};

/**
 * `GET /api/schema`: the OpenAPI 3 document of every route, built once on first request;
 * `GET /api/docs`: Swagger UI served from assets inside taskmgr (no CDN, works offline). Both public.
 */
export const docsRoutes = () => {
  const docs = new Elysia();
  let document: ReturnType<typeof buildDocument> | undefined;
  return docs
    .get(SCHEMA_PATH, () => (document ??= buildDocument(docs)), hidden)
    .get(DOCS_PATH, () => new Response(docsPage(API_TITLE), { headers: DOCS_PAGE_HEADERS }), hidden)
    .get(BUNDLE_PATH, asset(swaggerBundle, "text/javascript; charset=utf-8"), hidden)
    .get(CSS_PATH, cssWithoutSourceMap(), hidden)
    .get(INIT_PATH, () => new Response(DOCS_INIT_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" } }), hidden);
};
