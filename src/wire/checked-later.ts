/**
 * A request value documented with its full shape (the OpenAPI document, generated clients) but not
 * checked when the request is validated: the service checks it itself, with a finer answer than a
 * 422 for the whole request — a malformed pushed change is answered `rejected` while the other
 * changes of its batch are applied.
 */
import { Kind, type TSchema, Type, TypeRegistry } from "@sinclair/typebox";

const CHECKED_LATER_KIND = "CheckedLater";

TypeRegistry.Set(CHECKED_LATER_KIND, () => true);

/** `shape` for the document; any value passes request validation (see the module comment). */
export const CheckedLater = <T extends TSchema>(shape: T) => Type.Unsafe<unknown>({ ...(JSON.parse(JSON.stringify(shape)) as object), [Kind]: CHECKED_LATER_KIND });

/** True for a {@link CheckedLater} schema: every value passes it, so its value need not be visited for errors. */
export const isCheckedLater = (schema: TSchema): boolean => schema[Kind] === CHECKED_LATER_KIND;
