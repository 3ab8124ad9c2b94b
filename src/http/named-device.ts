import { isUuid } from "../ids";

/**
 * The device a request names, for its `request` log line: the `device_id` of its JSON body (a push, a
 * login) or of its query (a pull), when it is a UUID; null otherwise. Read before validation, so that
 * a refused request (403 another user's device, 422 body, 410 reset_required) is logged with the device
 * it named; whether that device is the caller's is what its status says. Anything else a client wrote
 * there is not logged.
 */
export function namedDevice(body: unknown, query: Record<string, unknown> | undefined): string | null {
  const inBody = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>).device_id : undefined;
  if (isUuid(inBody)) return inBody;
  const inQuery = query?.device_id;
  return isUuid(inQuery) ? inQuery : null;
}
