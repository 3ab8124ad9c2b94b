/**
 * boundedErrors gives TypeBox's own errors (order, paths, messages) for every value whose arrays are
 * within their `maxItems`, and only the `ArrayMaxItems` error for one that is not: src/records/value-errors.ts.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Value } from "@sinclair/typebox/value";
import { type TSchema, TypeRegistry } from "@sinclair/typebox";
import { CommentFields, LockBody, ProjectFields, TaskFields } from "../../src/records/model";
import { PushBody } from "../../src/sync/model";
import { boundedErrors } from "../../src/records/value-errors";

const SCHEMAS: [string, TSchema][] = [
  ["task", TaskFields],
  ["project", ProjectFields],
  ["comment", CommentFields],
  ["lock", LockBody],
  ["push", PushBody],
];

/** `fn`'s result and how many `Text` values (the title, each tag) were checked while it ran. */
function textChecks<T>(fn: () => T): { result: T; checks: number } {
  const check = TypeRegistry.Get("Text")!;
  let checks = 0;
  TypeRegistry.Set("Text", (schema, value) => (checks++, check(schema, value)));
  try {
    return { result: fn(), checks };
  } finally {
    TypeRegistry.Set("Text", check);
  }
}

const shown = (errors: Iterable<{ type: number; path: string; message: string }>) => [...errors].map((e) => [e.type, e.path, e.message]);

/** A body: some of the schemas' keys (and others), each with any JSON value; `tags` up to 100 elements. */
const body = fc.dictionary(
  fc.oneof(fc.constantFrom("title", "name", "body", "tags", "status", "due_date", "task_id", "version", "device_id", "changes", "a/b~c"), fc.string()),
  fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 100 })),
);

describe("boundedErrors", () => {
  test.each(SCHEMAS)("%s: the errors TypeBox gives, for bodies whose arrays are within bounds", (_, schema) => {
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue({ maxDepth: 2 })), (value) => {
        expect(shown(boundedErrors(schema, [], value))).toEqual(shown(Value.Errors(schema, [], value)));
      }),
      { numRuns: 300 },
    );
  });

  test("an array over its maxItems: that one error, at its path, its elements not visited", () => {
    const tags = Array.from({ length: 1_200_000 }, () => 0);
    const task = { project_id: null, title: "", description: "", status: "todo", priority: "low", due_date: null, tags, assignee_id: null };
    const { result: errors, checks } = textChecks(() => [...boundedErrors(TaskFields, [], task)]);
    expect(errors.map((e) => e.path)).toEqual(["/title", "/tags"]);
    expect(errors[1].message).toBe("Expected array length to be less or equal to 100");
    // The title's and the description's: no tag is checked.
    expect(checks).toBe(2);
  });

  test("a push's changes (checked later, each by the service): not visited, however many", () => {
    const check = TypeRegistry.Get("CheckedLater")!;
    let visits = 0;
    TypeRegistry.Set("CheckedLater", (schema, value) => (visits++, check(schema, value)));
    try {
      const errors = [...boundedErrors(PushBody, [], { changes: Array.from({ length: 1_200_000 }, () => 0) })];
      expect(errors.map((e) => e.path)).toEqual(["/device_id", "/device_id"]);
    } finally {
      TypeRegistry.Set("CheckedLater", check);
    }
    expect(visits).toBe(0);
  });
});
