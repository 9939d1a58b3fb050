// Wires the pure wedge detector (wedge.ts) to the page's keyboard.
//
// A keydown listener in the capture phase on the window sees every key before any field
// does. Keys the detector holds back are prevented; when they turn out to be a person's,
// they are replayed: a synthetic keydown goes to the focused element (so shortcuts still
// work) and, unless something prevented it, the character is inserted into the focused
// text field with an `input` event, as the browser would have done.

import {
  INITIAL_WEDGE_STATE,
  lateTerminatorWindowMs,
  wedgeDeadline,
  wedgeKey,
  wedgeTimeout,
  type WedgeAction,
  type WedgeSettings,
  type WedgeStep,
} from "./wedge";

/** The keydowns this module made itself; its own listener lets them through. */
const replayed = new WeakSet<Event>();

/** The ASCII group separator; some wedges send it as Ctrl+]. */
const GROUP_SEPARATOR = "\u001d";

/** Modifier keys alone are not keys for the detector. */
const MODIFIERS = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock", "NumLock", "Dead"]);

/** What the detector should see for a keydown, or null when it must not see it at all. */
export function wedgeKeyOf(event: KeyboardEvent): string | null {
  if (MODIFIERS.has(event.key) || event.isComposing) return null;
  if (event.ctrlKey && event.key === "]") return GROUP_SEPARATOR;
  // AltGr reports Ctrl+Alt on Windows; those keys are characters, not shortcuts.
  const shortcut = (event.ctrlKey && !event.altKey) || event.metaKey;
  if (shortcut) return "Shortcut";
  return event.key;
}

type TextField = HTMLInputElement | HTMLTextAreaElement;

const TEXT_INPUT_TYPES = new Set(["text", "search", "password", "url", "tel", "email", ""]);

function asTextField(element: Element | null): TextField | null {
  if (element instanceof HTMLTextAreaElement) return element;
  if (element instanceof HTMLInputElement && TEXT_INPUT_TYPES.has(element.type)) return element;
  return null;
}

/** Types `text` into the focused element as if the keys had gone through. */
export function replayTyping(doc: Document, text: string): void {
  for (const character of text) {
    const target = doc.activeElement ?? doc.body;
    const view = doc.defaultView ?? window;
    const keydown = new view.KeyboardEvent("keydown", { key: character, bubbles: true, cancelable: true });
    replayed.add(keydown);
    const notPrevented = target.dispatchEvent(keydown);
    // As in a browser, the character goes where the focus is after its keydown: a screen
    // may move the focus to its field on a key typed while nothing took text.
    const field = asTextField(doc.activeElement);
    if (!notPrevented || field === null || field.readOnly || field.disabled) continue;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.setRangeText(character, start, end, "end");
    field.dispatchEvent(new view.InputEvent("input", { bubbles: true, data: character, inputType: "insertText" }));
  }
}

/**
 * How late a silence timer may fire and still be trusted, in milliseconds. Timers slip by a
 * millisecond or two on an idle page; later than this, the page was busy and keys may be
 * queued behind the timer.
 */
const LATE_TIMER_SLACK_MS = 4;

/** How far back a key's own timestamp may lie and still be believed, in milliseconds. */
const MAX_KEY_AGE_MS = 10_000;

/**
 * When the key was pressed: the event's own timestamp, which is on `performance.now()`'s
 * timeline in the webview, when it is plausible (not in the future, not older than
 * MAX_KEY_AGE_MS); otherwise `nowMs`, the time it is handled. A busy page handles queued
 * keys together; judged by handling time, a person's slow keys would look like a
 * scanner's burst.
 */
export function keyTimeMs(event: Event, nowMs: number): number {
  const stamp = event.timeStamp;
  return Number.isFinite(stamp) && stamp > 0 && stamp <= nowMs && nowMs - stamp <= MAX_KEY_AGE_MS ? stamp : nowMs;
}

export interface WedgeOptions {
  settings: () => WedgeSettings;
  onScan: (raw: string) => void;
  /** Milliseconds, monotonic; tests pass their own. */
  clock?: () => number;
}

/** Starts detecting scans on `view`'s keyboard; returns the function that stops it. */
export function attachWedge(view: Window, options: WedgeOptions): () => void {
  const clock = options.clock ?? (() => view.performance.now());
  let state = INITIAL_WEDGE_STATE;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function apply(step: WedgeStep): void {
    state = step.state;
    step.actions.forEach(run);
    schedule();
  }

  function run(action: WedgeAction): void {
    if (action.kind === "scan") options.onScan(action.raw);
    else replayTyping(view.document, action.text);
  }

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const deadline = wedgeDeadline(state, options.settings());
    if (deadline === null) return;
    const delayMs = Math.max(0, deadline - clock()) + 1;
    arm(clock() + delayMs, delayMs, 0);
  }

  /**
   * Ends the burst on silence at `dueMs`, unless the timer finds the page was busy: then the
   * keys pressed before the silence began may still be queued behind it, and ending the
   * burst now would cut a scan short (its last keys typed into a field as a person's). So a
   * late timer waits one more gap, and keeps waiting while it keeps coming late, for at most
   * the late-terminator window; a queued key judged by its own timestamp then joins the burst.
   */
  function arm(dueMs: number, delayMs: number, heldMs: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      const nowMs = clock();
      const settings = options.settings();
      const lateMs = nowMs - dueMs;
      if (lateMs > LATE_TIMER_SLACK_MS && heldMs < lateTerminatorWindowMs(settings)) {
        arm(nowMs + settings.maxKeyGapMs, settings.maxKeyGapMs, heldMs + lateMs + settings.maxKeyGapMs);
        return;
      }
      apply(wedgeTimeout(state, nowMs, settings));
    }, delayMs);
  }

  function onKeyDown(event: KeyboardEvent): void {
    if (replayed.has(event)) return;
    const key = wedgeKeyOf(event);
    if (key === null) return;
    const step = wedgeKey(state, { key, timeMs: keyTimeMs(event, clock()), repeat: event.repeat }, options.settings());
    if (step.swallow) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    apply(step);
  }

  view.addEventListener("keydown", onKeyDown, true);
  return () => {
    view.removeEventListener("keydown", onKeyDown, true);
    if (timer !== undefined) clearTimeout(timer);
  };
}
