import { Argument, InvalidArgumentError } from "commander";
import { isUuid } from "../src/ids";

/**
 * A positional `<id>` argument that must be a UUID (any letter case; passed on in lower case): a
 * malformed one is bad usage (exit status 2), not an unknown id (1).
 */
export function idArgument(description: string): Argument {
  return new Argument("<id>", description).argParser((raw: string) => {
    if (!isUuid(raw)) throw new InvalidArgumentError("must be a UUID.");
    return raw.toLowerCase();
  });
}
