/** SQL migrations and UI assets imported as text or as embedded files (`with { type: "text" | "file" }`). */
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.js" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const path: string;
  export default path;
}
