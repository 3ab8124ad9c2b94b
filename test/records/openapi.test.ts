import { expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { createTestDatabase } from "../support/db";

const ROUTES: [string, string, string, string][] = [
  ["get", "/api/projects", "projects", "200"],
  ["post", "/api/projects", "projects", "201"],
  ["get", "/api/projects/{id}", "projects", "200"],
  ["patch", "/api/projects/{id}", "projects", "200"],
  ["delete", "/api/projects/{id}", "projects", "204"],
  ["post", "/api/projects/{id}/archive", "projects", "200"],
  ["get", "/api/tasks", "tasks", "200"],
  ["post", "/api/tasks", "tasks", "201"],
  ["get", "/api/tasks/{id}", "tasks", "200"],
  ["patch", "/api/tasks/{id}", "tasks", "200"],
  ["delete", "/api/tasks/{id}", "tasks", "204"],
  ["get", "/api/tasks/{id}/comments", "tasks", "200"],
  ["get", "/api/tasks/{id}/history", "tasks", "200"],
  ["get", "/api/comments", "comments", "200"],
  ["post", "/api/comments", "comments", "201"],
  ["get", "/api/comments/{id}", "comments", "200"],
  ["patch", "/api/comments/{id}", "comments", "200"],
  ["delete", "/api/comments/{id}", "comments", "204"],
];

test("the OpenAPI document describes every record route with a tag, a summary and models", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const t = await createTestApp(db);
    const doc = (await t.request("GET", "/api/schema")).body as { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };
    // Models are named schemas, referenced from the operations.
    const deref = (s: { $ref?: string }) => (s.$ref ? doc.components.schemas[s.$ref.replace("#/components/schemas/", "")] : s);
    for (const [method, path, tag, ok] of ROUTES) {
      const op = doc.paths[path]?.[method];
      expect(op ? `${method} ${path}` : `${method} ${path} missing`).toBe(`${method} ${path}`);
      expect(op.tags).toEqual([tag]);
      expect(typeof op.summary).toBe("string");
      expect(op.responses[ok]).toBeDefined();
      if (ok !== "204") expect(deref(op.responses[ok].content["application/json"].schema).type).toBe("object");
      expect(op.responses["404"] ?? op.responses["422"]).toBeDefined();
    }
    const post = doc.paths["/api/tasks"].post;
    const body = deref(post.requestBody.content["application/json"].schema);
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(["title"]);
    expect(body.properties.status.enum ?? body.properties.status.anyOf).toBeDefined();
    const list = doc.paths["/api/tasks"].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["page", "page_size", "status", "priority", "project_id", "assignee_id", "tag", "due_before", "due_after", "search", "ordering", "include_deleted"]),
    );
  } finally {
    await drop();
  }
});
