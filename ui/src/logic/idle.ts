// Automatic sign-out after a period without keys, clicks or scans.

/** Default idle period before the user is signed out. */
export const DEFAULT_IDLE_MS = 5 * 60 * 1000;

export function idleExpired(lastActivityMs: number, nowMs: number, idleMs: number): boolean {
  return nowMs - lastActivityMs >= idleMs;
}
