import { createLogger, type Logger } from "../../src/log/logger";

/** A logger that keeps its JSON lines in memory, parsed. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger({ level: "debug", console: (l) => lines.push(JSON.parse(l)) }), lines };
}
