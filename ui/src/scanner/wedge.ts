// Keyboard-wedge detection: telling a scanner's burst of keys from a person typing.
//
// A wedge scanner "types" its barcode much faster than a person can: a USB scanner sends a
// key every few milliseconds, a person rarely faster than every 50 ms. So keys are held in a
// buffer while they keep coming within `maxKeyGapMs` of each other. When the burst ends (a
// terminator key, or silence longer than the gap; a scan-long burst awaiting its terminator
// waits the late-terminator window instead, see `wedgeDeadline`) a buffer of at least
// `minLength` keys is a scan; a shorter one was typed by a person and is handed back to be
// typed for real.
//
// Because the first key of a burst cannot be told from a keystroke until the second arrives,
// every printable key is held back (swallowed) and a person's keys are released `maxKeyGapMs`
// later. That is what keeps a scan out of whatever input has the focus, a quantity field say.
//
// Pure: the caller feeds keys with their times and applies the actions; `wedgeDeadline` says
// when to call `wedgeTimeout` if no key comes. GS substitutes (`~`, `<GS>`, ...) and a real
// 0x1D pass through untouched: the Rust scan parser knows them.

import type { ScannerSettings } from "../contract";

export type WedgeSettings = Pick<ScannerSettings, "maxKeyGapMs" | "minLength" | "prefix" | "suffix" | "terminator">;

/** One keydown: `key` is one character, or a named key such as "Enter" or "Escape". */
export interface WedgeKey {
  key: string;
  timeMs: number;
  /** Auto-repeat of a held key: always a person. */
  repeat?: boolean;
}

export type WedgeAction = { kind: "scan"; raw: string } | { kind: "type"; text: string };

export interface WedgeState {
  /** The keys of the burst so far (printable characters only). */
  buffer: string;
  lastKeyMs: number;
  /** A terminator key before this time belongs to a scan already emitted on silence. */
  lateTerminatorUntilMs: number;
}

export interface WedgeStep {
  state: WedgeState;
  actions: WedgeAction[];
  /** Whether the caller must keep this key from reaching the page. */
  swallow: boolean;
}

export const INITIAL_WEDGE_STATE: WedgeState = { buffer: "", lastKeyMs: 0, lateTerminatorUntilMs: -Infinity };

/** USB scanners: keys a few ms apart. */
export const USB_PRESET = { maxKeyGapMs: 30, minLength: 4 } as const;
/** Bluetooth scanners: keys arrive in radio packets, with longer gaps. */
export const BLUETOOTH_PRESET = { maxKeyGapMs: 80, minLength: 4 } as const;

/** How long after a scan ended on silence a terminator key still counts as its end. */
export function lateTerminatorWindowMs(settings: WedgeSettings): number {
  return settings.maxKeyGapMs * 10;
}

export function isPrintable(key: string): boolean {
  return [...key].length === 1;
}

function terminatorKey(settings: WedgeSettings): string | null {
  if (settings.terminator === "enter") return "Enter";
  if (settings.terminator === "tab") return "Tab";
  return null;
}

/** The content of a scan: the burst less its prefix and suffix. */
export function stripAffixes(burst: string, settings: WedgeSettings): string {
  let content = burst;
  if (settings.prefix !== "" && content.startsWith(settings.prefix)) {
    content = content.slice(settings.prefix.length);
  }
  if (settings.suffix !== "" && content.endsWith(settings.suffix)) {
    content = content.slice(0, content.length - settings.suffix.length);
  }
  return content;
}

/** What a finished buffer was: a scan if long enough (and not empty once stripped), else typing. */
function finish(buffer: string, settings: WedgeSettings): WedgeAction[] {
  if (buffer === "") return [];
  const content = stripAffixes(buffer, settings);
  if ([...buffer].length >= settings.minLength && content !== "") return [{ kind: "scan", raw: content }];
  return [{ kind: "type", text: buffer }];
}

function emptied(state: WedgeState, actions: WedgeAction[], nowMs: number, settings: WedgeSettings): WedgeState {
  const endedOnSilenceWithScan = actions.some((action) => action.kind === "scan");
  return {
    buffer: "",
    lastKeyMs: state.lastKeyMs,
    lateTerminatorUntilMs:
      endedOnSilenceWithScan && terminatorKey(settings) !== null
        ? nowMs + lateTerminatorWindowMs(settings)
        : state.lateTerminatorUntilMs,
  };
}

/**
 * The time after which `wedgeTimeout` ends the current burst, or null with nothing held.
 *
 * A burst long enough to be a scan, with a terminator configured, is not over until its
 * terminator comes: a scanner always sends it, so silence there means the keys stalled on
 * their way (a busy machine delays one key past the gap). Such a burst waits the
 * late-terminator window for its next key before silence ends it; a shorter burst, a person's
 * keys, ends on the gap as before.
 */
export function wedgeDeadline(state: WedgeState, settings: WedgeSettings): number | null {
  if (state.buffer === "") return null;
  const waitsForTerminator = terminatorKey(settings) !== null && [...state.buffer].length >= settings.minLength;
  return state.lastKeyMs + (waitsForTerminator ? lateTerminatorWindowMs(settings) : settings.maxKeyGapMs);
}

/** Silence: ends the burst if no key came within the gap. */
export function wedgeTimeout(state: WedgeState, nowMs: number, settings: WedgeSettings): WedgeStep {
  const deadline = wedgeDeadline(state, settings);
  if (deadline === null || nowMs <= deadline) return { state, actions: [], swallow: false };
  const actions = finish(state.buffer, settings);
  return { state: emptied(state, actions, nowMs, settings), actions, swallow: false };
}

/** One keydown. */
export function wedgeKey(state: WedgeState, key: WedgeKey, settings: WedgeSettings): WedgeStep {
  // A key that comes after the gap first ends the burst before it, as silence would have.
  const expired = wedgeTimeout(state, key.timeMs, settings);
  const before = expired.actions;
  const current = expired.state;
  const scanJustEnded = before.some((action) => action.kind === "scan");

  if (key.key === terminatorKey(settings)) {
    if (current.buffer !== "") {
      const actions = finish(current.buffer, settings);
      const isScan = actions[0]?.kind === "scan";
      // A scan's terminator is its own; after a person's typing it is the person's Enter.
      return { state: { ...INITIAL_WEDGE_STATE, lastKeyMs: key.timeMs }, actions: [...before, ...actions], swallow: isScan };
    }
    const late = scanJustEnded || key.timeMs <= current.lateTerminatorUntilMs;
    return {
      state: { ...current, lateTerminatorUntilMs: -Infinity },
      actions: before,
      swallow: late,
    };
  }

  if (!isPrintable(key.key) || key.repeat === true) {
    // Escape, arrows, F-keys, Backspace, a held key: a person. Whatever was held is finished
    // first, so it lands before the key does.
    const actions = finish(current.buffer, settings);
    return { state: emptied(current, actions, key.timeMs, settings), actions: [...before, ...actions], swallow: false };
  }

  const buffer = current.buffer + key.key;
  const next: WedgeState = { ...current, buffer, lastKeyMs: key.timeMs };
  // Without a terminator, a configured suffix ends the scan at once instead of on silence.
  if (
    settings.terminator === "none" &&
    settings.suffix !== "" &&
    buffer.endsWith(settings.suffix) &&
    [...buffer].length >= settings.minLength
  ) {
    const actions = finish(buffer, settings);
    return { state: { ...INITIAL_WEDGE_STATE, lastKeyMs: key.timeMs }, actions: [...before, ...actions], swallow: true };
  }
  return { state: next, actions: before, swallow: true };
}
