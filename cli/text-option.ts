import { InvalidArgumentError } from "commander";

/**
 * The value parser of an option naming something (`--org <slug>`, `--user <email>`, `--email`): an
 * empty or blank value is bad usage (exit status 2), as `--host ''` is, not a lookup of "" that fails
 * (1). The value is passed on as given.
 */
export function nonEmpty(raw: string): string {
  if (raw.trim() === "") throw new InvalidArgumentError("must not be empty.");
  return raw;
}
