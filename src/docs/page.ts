import { version as swaggerUiVersion } from "swagger-ui-dist/package.json";

/** Where the interactive documentation and its assets are served. */
export const DOCS_PATH = "/api/docs";
export const SCHEMA_PATH = "/api/schema";
export const BUNDLE_PATH = `${DOCS_PATH}/swagger-ui-bundle.js`;
export const CSS_PATH = `${DOCS_PATH}/swagger-ui.css`;
export const INIT_PATH = `${DOCS_PATH}/init.js`;

/**
 * The page names the bundle and stylesheet, which browsers cache a day, with Swagger UI's version in
 * their URLs: after an upgrade the page never runs the assets of the version before (the query is
 * not routed: the same route answers every version).
 */
const ASSET_QUERY = `?v=${swaggerUiVersion}`;

/**
 * The Swagger UI page: every asset comes from taskmgr itself, so it works with no internet.
 * `validatorUrl: null` turns off Swagger UI's validator badge, which otherwise (on any host but
 * localhost) loads an image from validator.swagger.io with the schema's URL. A token given to
 * "Authorize" lives as long as the tab (not `persistAuthorization`, which kept it in the browser's
 * localStorage, readable by any script of the origin, after the page was closed).
 */
export function docsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${CSS_PATH}${ASSET_QUERY}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${BUNDLE_PATH}${ASSET_QUERY}"></script>
  <script src="${INIT_PATH}"></script>
</body>
</html>
`;
}

/** The page's start-up script, served as a file so that the page's policy allows no inline script. */
export const DOCS_INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: "${SCHEMA_PATH}", dom_id: "#swagger-ui", validatorUrl: null });\n`;

/**
 * The docs page's policy: scripts, styles, images and requests from taskmgr itself only, no inline
 * script (what an injected one would need); inline styles (Swagger UI sets style attributes) and
 * `data:` images (its icons) allowed. Checked in headless Chromium: the page renders every
 * operation and schema, Authorize and "Try it out" work, and it reports no violation; without
 * `data:` images its icons are blocked.
 */
const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Headers of the docs page: its {@link DOCS_CONTENT_SECURITY_POLICY}; no other site may frame it (a
 * framed page could be dressed up to have a visitor send requests with their token), nor may a
 * browser guess its type; it sends no referrer.
 */
export const DOCS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": DOCS_CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};
