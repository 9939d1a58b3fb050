// Formatting numbers and times for display. Locale-aware, no words of its own.

export function formatTime(ms: number): string {
  try {
    return new Date(ms).toLocaleString();
  } catch {
    // A PC whose locale the browser cannot read (e.g. "C") still gets a time.
    return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  }
}

/** A signed millisecond offset in seconds with one decimal, e.g. "+1.5 s" without the unit. */
export function formatOffsetSeconds(offsetMs: number): string {
  const seconds = (offsetMs / 1000).toFixed(1);
  return offsetMs > 0 ? `+${seconds}` : seconds;
}

/** Progress as a whole percentage between 0 and 100. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}
