/** Where the interactive documentation and its assets are served. */
export const DOCS_PATH = "/api/docs";
export const SCHEMA_PATH = "/api/schema";
export const BUNDLE_PATH = `${DOCS_PATH}/swagger-ui-bundle.js`;
export const CSS_PATH = `${DOCS_PATH}/swagger-ui.css`;

/**
 * The Swagger UI page: every asset comes from taskmgr itself, so it works with no internet.
 * `validatorUrl: null` turns off Swagger UI's validator badge, which otherwise (on any host but
 * localhost) loads an image from validator.swagger.io with the schema's URL.
 */
export function docsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${CSS_PATH}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${BUNDLE_PATH}"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "${SCHEMA_PATH}", dom_id: "#swagger-ui", persistAuthorization: true, validatorUrl: null });
  </script>
</body>
</html>
`;
}
