// The wedge on a real (jsdom) page: a scan never lands in the focused field, a person's
// keys do, and shortcuts still see a person's keys.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { attachWedge, wedgeKeyOf } from "../src/scanner/keyboard";
import { DEFAULT_SCANNER_SETTINGS } from "../src/scanner/defaults";

let startMs = 0;
let scans: string[] = [];
let detach: () => void = () => {};
let input: HTMLInputElement;

/** Presses `key` on the focused element at `atMs`, running timers due before it. */
function press(key: string, atMs: number, init: KeyboardEventInit = {}): KeyboardEvent {
  vi.advanceTimersByTime(atMs - elapsed());
  const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
  (document.activeElement ?? document.body).dispatchEvent(event);
  return event;
}

/** Fake milliseconds since the test began; the fake timers move Date.now() too. */
function elapsed(): number {
  return Date.now() - startMs;
}

function settle(): void {
  vi.advanceTimersByTime(1000);
}

/**
 * Attaches the wedge again with a page clock that runs `busyMs` ahead of the fake timers:
 * while the page is busy, a timer fires late, with keys pressed before it still queued.
 */
function attachOnABusyPage(): { busyMs: number } {
  detach();
  const page = { busyMs: 0 };
  detach = attachWedge(window, {
    settings: () => DEFAULT_SCANNER_SETTINGS,
    onScan: (raw) => scans.push(raw),
    clock: () => elapsed() + page.busyMs,
  });
  return page;
}

beforeEach(() => {
  vi.useFakeTimers();
  startMs = Date.now();
  scans = [];
  document.body.innerHTML = '<input id="qty" type="text" />';
  input = document.getElementById("qty") as HTMLInputElement;
  input.focus();
  detach = attachWedge(window, { settings: () => DEFAULT_SCANNER_SETTINGS, onScan: (raw) => scans.push(raw), clock: elapsed });
});

afterEach(() => {
  detach();
  vi.useRealTimers();
});

describe("attachWedge", () => {
  it("keeps a scanner burst out of the focused quantity field", () => {
    [..."S:BOLT-M6"].forEach((key, index) => press(key, 1000 + index * 4));
    const enter = press("Enter", 1040);
    expect(scans).toEqual(["S:BOLT-M6"]);
    expect(input.value, "not one character of the scan may be typed into the field").toBe("");
    expect(enter.defaultPrevented, "the scanner's Enter must not submit").toBe(true);
  });

  it("types a person's keys into the field once they are known to be a person's", () => {
    const inputs: string[] = [];
    input.addEventListener("input", () => inputs.push(input.value));
    press("1", 0);
    press("2", 200);
    settle();
    expect(input.value).toBe("12");
    expect(inputs, "each key fires an input event, as a real key would").toEqual(["1", "12"]);
    expect(scans).toEqual([]);
  });

  it("lets the field see a short run before the Enter that submits it", () => {
    let valueAtEnter = "";
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") valueAtEnter = input.value;
    });
    press("7", 0);
    press("Enter", 10);
    expect(valueAtEnter).toBe("7");
  });

  it("replays a person's digit as a keydown for menu shortcuts", () => {
    input.blur();
    const seen: string[] = [];
    window.addEventListener("keydown", (event) => seen.push(event.key));
    press("3", 0);
    expect(seen, "held back at first").toEqual([]);
    settle();
    expect(seen).toEqual(["3"]);
    expect(document.activeElement === input).toBe(false);
  });

  it("judges a person's keys by when they were pressed, not by when a busy page handled them", () => {
    // Keys pressed 150 ms apart while the page was busy reach the listener together, at
    // 2000 ms; each carries its own timestamp. By handling time they would be a 0 ms burst
    // ending in Enter: a scan of "12345".
    vi.advanceTimersByTime(2000 - elapsed());
    const typed = [..."12345", "Enter"].map((key, index) => {
      const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true });
      Object.defineProperty(event, "timeStamp", { value: 1200 + index * 150 });
      return event;
    });
    for (const event of typed) (document.activeElement ?? document.body).dispatchEvent(event);
    settle();
    expect(scans, "a person typing slowly is not a scanner").toEqual([]);
    expect(input.value).toBe("12345");
  });

  it("does not cut a scan short when its silence timer fires late on a busy page", () => {
    // The page's clock runs ahead of the fake timers while it is busy: a timer then fires
    // late, with keys pressed before it still queued behind it.
    const page = attachOnABusyPage();
    const code = "4006381333931";
    const stamped = (key: string, timeStamp: number): KeyboardEvent => {
      const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true });
      Object.defineProperty(event, "timeStamp", { value: timeStamp });
      return event;
    };
    vi.advanceTimersByTime(1000 - elapsed());
    [...code.slice(0, -1)].forEach((key, index) => {
      vi.advanceTimersByTime(1000 + index * 4 - elapsed());
      input.dispatchEvent(stamped(key, 1000 + index * 4));
    });
    // The last digit (pressed at 1048) and the Enter (1052) wait while the page is busy
    // until 1100; the silence timer, due at 1075, runs first.
    page.busyMs = 60;
    vi.advanceTimersByTime(1076 - elapsed());
    input.dispatchEvent(stamped(code.slice(-1), 1048));
    const enter = stamped("Enter", 1052);
    input.dispatchEvent(enter);
    settle();
    expect(scans, "the scan keeps its last digit").toEqual([code]);
    expect(input.value, "no digit of it is typed into the field").toBe("");
    expect(enter.defaultPrevented, "its Enter is the scan's").toBe(true);
  });

  it("still hands a person's key back on a page that stays busy", () => {
    // Every timer finds the page 50 ms behind.
    const page = attachOnABusyPage();
    press("7", 0);
    for (let step = 0; step < 40; step += 1) {
      page.busyMs += 50;
      vi.advanceTimersByTime(31);
    }
    expect(input.value, "held for at most the late-terminator window, then typed").toBe("7");
    expect(scans).toEqual([]);
  });

  it("stops listening when detached", () => {
    detach();
    const event = press("5", 0);
    expect(event.defaultPrevented).toBe(false);
  });
});

describe("wedgeKeyOf", () => {
  it("ignores modifiers alone, maps Ctrl+] to GS and marks shortcuts", () => {
    expect(wedgeKeyOf(new KeyboardEvent("keydown", { key: "Shift" }))).toBeNull();
    expect(wedgeKeyOf(new KeyboardEvent("keydown", { key: "]", ctrlKey: true }))).toBe("\u001d");
    expect(wedgeKeyOf(new KeyboardEvent("keydown", { key: "c", ctrlKey: true }))).toBe("Shortcut");
    expect(wedgeKeyOf(new KeyboardEvent("keydown", { key: "@", ctrlKey: true, altKey: true })), "AltGr types characters").toBe("@");
  });
});
