// Sign-out after a period idle. The backend owns the session and the profile's idle timeout
// (a manager's setting, 1-60 minutes), so the UI times nothing itself: every few seconds it
// tells the backend whether the person did anything (a key, a click, a scan) since it last
// asked, which restarts the backend's idle timer, and follows the answer. Once the backend
// says nobody is signed in, the shell goes back to the sign-in screen.

import type { SessionState } from "../contract";

/** How often the UI reports activity and asks whether the session is still on. */
export const SESSION_CHECK_MS = 5_000;

/** The bounds the backend enforces, for the settings screen to say before it is asked. */
export const IDLE_MINUTES = { min: 1, max: 60 } as const;

/** A whole number of minutes inside the bounds, or null. */
export function parseIdleMinutes(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,2}$/.test(trimmed)) return null;
  const minutes = Number(trimmed);
  return minutes >= IDLE_MINUTES.min && minutes <= IDLE_MINUTES.max ? minutes : null;
}

export interface SessionWatch {
  /** Asks the backend; `activity` says there was some since the last answered check. */
  check(activity: boolean): Promise<SessionState>;
  /** When the person last did something (ms, the same clock as `nowMs`). */
  lastActivityMs(): number;
  nowMs(): number;
  /** The backend ended the session (idle). Called once; the watch then stops. */
  onEnded(): void;
}

/** Starts checking the session every `everyMs`; returns the function that stops it. */
export function watchSession(watch: SessionWatch, everyMs: number = SESSION_CHECK_MS): () => void {
  // Activity up to here is known to the backend: signing in was the last of it.
  let reportedUpToMs = watch.nowMs();
  let stopped = false;
  let inFlight = false;
  const timer = setInterval(() => {
    if (stopped || inFlight) return;
    const askedAtMs = watch.nowMs();
    const activity = watch.lastActivityMs() > reportedUpToMs;
    inFlight = true;
    watch.check(activity).then(
      (session) => {
        inFlight = false;
        if (stopped) return;
        // Only an answered check counts as reported; a failed one is reported again.
        reportedUpToMs = askedAtMs;
        if (session.user === null) {
          stop();
          watch.onEnded();
        }
      },
      () => {
        inFlight = false;
      },
    );
  }, everyMs);
  function stop(): void {
    stopped = true;
    clearInterval(timer);
  }
  return stop;
}
