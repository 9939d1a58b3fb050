// What the Sync screen says about the last error. The engine keeps its last error after a
// later round succeeds, so an error from this morning would read as if sync were broken
// now; the error's time against the last success's tells the two apart.

import type { SyncStatus } from "../contract";

export type LastError =
  | { kind: "none" }
  /** Nothing has succeeded since: the error still holds. `atMs` is unknown for old backends. */
  | { kind: "current"; message: string; atMs?: number }
  /** A sync succeeded after it. */
  | { kind: "past"; message: string; atMs: number };

export function lastError(status: SyncStatus): LastError {
  if (status.lastError === undefined) return { kind: "none" };
  const atMs = status.lastErrorMs;
  if (atMs !== undefined && status.lastSuccessMs !== undefined && status.lastSuccessMs > atMs) {
    return { kind: "past", message: status.lastError, atMs };
  }
  return atMs === undefined ? { kind: "current", message: status.lastError } : { kind: "current", message: status.lastError, atMs };
}
