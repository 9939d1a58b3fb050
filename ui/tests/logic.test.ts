// Small pure pieces: quantities, pick rules, the key stack, the scan bus, the session watch,
// the sync panel's last error, and formats.

import { describe, expect, it, vi } from "vitest";

import type { PickLineView, SessionState } from "../src/contract";
import { createKeyStack } from "../src/keys";
import { formatOffsetSeconds, percent } from "../src/logic/format";
import { parseIdleMinutes, watchSession } from "../src/logic/idle";
import { afterPick, checkItemScan, checkLocationScan, nextLine, remaining } from "../src/logic/pick";
import { parseQuantity } from "../src/logic/quantity";
import { lastError } from "../src/logic/sync";
import { createScanBus } from "../src/scanner/bus";
import { BOLT, LOC_A, LOC_B, NUT } from "./fake";

const LINE: PickLineView = { id: 1, location: LOC_A, item: BOLT, qty: 5, picked: 2, done: false };

describe("parseQuantity", () => {
  it.each([
    ["12", false, 12],
    [" 7 ", false, 7],
    ["0", false, null],
    ["0", true, 0],
    ["-3", false, null],
    ["2.5", false, null],
    ["1e3", false, null],
    ["", false, null],
    ["9999999", false, null],
  ])("%j (zero allowed: %s) is %s", (text, allowZero, expected) => {
    expect(parseQuantity(text, allowZero)).toBe(expected);
  });
});

describe("pick rules", () => {
  it("takes the first open line in walk order", () => {
    const lines = [
      { ...LINE, id: 2, location: LOC_B },
      { ...LINE, id: 1, done: true },
      { ...LINE, id: 3, location: { ...LOC_A, id: "loc-c", walkOrder: 15 } },
    ];
    expect(nextLine(lines)?.id).toBe(3);
  });

  it("checks scans against the line and names what it expected", () => {
    expect(checkLocationScan(LINE, { kind: "location", location: LOC_A })).toEqual({ ok: true });
    expect(checkLocationScan(LINE, { kind: "location", location: LOC_B })).toEqual({ ok: false, reason: "wrong_location", expected: "A-01-01" });
    expect(checkLocationScan(LINE, { kind: "badge", badge: "1" })).toMatchObject({ reason: "not_a_location" });
    expect(checkItemScan(LINE, { kind: "item", item: NUT, packSize: 1 })).toEqual({ ok: false, reason: "wrong_item", expected: "BOLT-M6 Bolt M6" });
  });

  it("applies a pick and a short pick to the local copy", () => {
    expect(remaining(LINE)).toBe(3);
    expect(afterPick([LINE], 1, 3, false)[0]).toMatchObject({ picked: 5, done: true });
    expect(afterPick([LINE], 1, 1, true)[0]).toMatchObject({ picked: 3, done: true });
    expect(afterPick([LINE], 1, 1, false)[0]).toMatchObject({ picked: 3, done: false });
  });
});

describe("key stack", () => {
  it("lets the newest map with the key win, and ignores digits typed into a field", () => {
    const stack = createKeyStack();
    const older = vi.fn();
    const newer = vi.fn();
    stack.push(() => ({ "1": older, Escape: older }));
    const pop = stack.push(() => ({ "1": newer }));
    document.body.innerHTML = "<input id='field' />";
    const field = document.getElementById("field")!;
    const typed = new KeyboardEvent("keydown", { key: "1", bubbles: true });
    field.dispatchEvent(typed);
    expect(stack.dispatch(typed), "a digit in a field is typing").toBe(false);
    const onBody = new KeyboardEvent("keydown", { key: "1", bubbles: true, cancelable: true });
    document.body.dispatchEvent(onBody);
    expect(stack.dispatch(onBody)).toBe(true);
    expect(newer).toHaveBeenCalledOnce();
    pop();
    const escape = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    field.dispatchEvent(escape);
    expect(stack.dispatch(escape), "named keys work from inside a field").toBe(true);
    expect(older).toHaveBeenCalledOnce();
  });
});

describe("scan bus", () => {
  it("gives scans to the newest listener only, and to the one before once it leaves", () => {
    const bus = createScanBus();
    const first: string[] = [];
    const second: string[] = [];
    bus.listen((raw) => first.push(raw));
    const leave = bus.listen((raw) => second.push(raw));
    bus.publish("a");
    leave();
    bus.publish("b");
    expect(first).toEqual(["b"]);
    expect(second).toEqual(["a"]);
  });
});

describe("idle timeout setting", () => {
  it.each([
    ["1", 1],
    [" 5 ", 5],
    ["60", 60],
    ["0", null],
    ["61", null],
    ["2.5", null],
    ["-3", null],
    ["", null],
    ["ten", null],
  ])("parses %j as %j minutes", (text, expected) => {
    expect(parseIdleMinutes(text)).toBe(expected);
  });
});

describe("session watch", () => {
  const ON: SessionState = { user: { id: "u", name: "Ana", badge: "0042", role: "picker" }, idleTimeoutMinutes: 5 };
  const OFF: SessionState = { user: null, idleTimeoutMinutes: 5 };

  async function tick(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
  }

  it("reports activity once per check, and stops when the backend ends the session", async () => {
    vi.useFakeTimers();
    try {
      let nowMs = 1_000;
      let lastActivityMs = 1_000;
      let answer = ON;
      const reports: boolean[] = [];
      const ended = vi.fn();
      const stop = watchSession(
        {
          check: async (activity) => {
            reports.push(activity);
            return answer;
          },
          lastActivityMs: () => lastActivityMs,
          nowMs: () => nowMs,
          onEnded: ended,
        },
        100,
      );
      nowMs = 1_100;
      await tick(100);
      expect(reports, "nothing happened after signing in").toEqual([false]);
      lastActivityMs = 1_150;
      nowMs = 1_200;
      await tick(100);
      nowMs = 1_300;
      await tick(100);
      expect(reports, "the key at 1150 is reported once").toEqual([false, true, false]);
      answer = OFF;
      nowMs = 1_400;
      await tick(100);
      expect(ended).toHaveBeenCalledTimes(1);
      await tick(300);
      expect(reports.length, "no more checks once the session is over").toBe(4);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("reports activity again after a failed check", async () => {
    vi.useFakeTimers();
    try {
      let nowMs = 0;
      let fail = true;
      const reports: boolean[] = [];
      const ended = vi.fn();
      watchSession(
        {
          check: async (activity) => {
            reports.push(activity);
            if (fail) throw new Error("store busy");
            return OFF;
          },
          lastActivityMs: () => 50,
          nowMs: () => nowMs,
          onEnded: ended,
        },
        100,
      );
      nowMs = 100;
      await tick(100);
      fail = false;
      nowMs = 200;
      await tick(100);
      expect(reports, "the activity at 50 is reported until a check is answered").toEqual([true, true]);
      expect(ended).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not end a session after it was stopped (a manual sign-out, say)", async () => {
    vi.useFakeTimers();
    try {
      let answer: (session: SessionState) => void = () => {};
      const ended = vi.fn();
      const stop = watchSession(
        {
          check: () => new Promise((resolve) => (answer = resolve)),
          lastActivityMs: () => 0,
          nowMs: () => 0,
          onEnded: ended,
        },
        100,
      );
      await tick(100);
      stop();
      answer(OFF);
      await tick(100);
      expect(ended, "the answer to a check made before the stop is ignored").not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("sync last error", () => {
  it("tells an error that still holds from one a later sync got past", () => {
    const base = { online: true, pending: 0, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0 };
    expect(lastError(base)).toEqual({ kind: "none" });
    expect(lastError({ ...base, lastError: "offline", lastErrorMs: 2_000, lastSuccessMs: 1_000 })).toEqual({
      kind: "current",
      message: "offline",
      atMs: 2_000,
    });
    expect(lastError({ ...base, lastError: "offline", lastErrorMs: 2_000, lastSuccessMs: 3_000 })).toEqual({
      kind: "past",
      message: "offline",
      atMs: 2_000,
    });
    expect(lastError({ ...base, lastError: "offline", lastSuccessMs: 3_000 }), "without its time an error cannot be judged past").toEqual({
      kind: "current",
      message: "offline",
    });
  });
});

describe("formats", () => {

  it("formats clock offsets and progress", () => {
    expect(formatOffsetSeconds(1500)).toBe("+1.5");
    expect(formatOffsetSeconds(-250)).toBe("-0.3");
    expect(percent(50, 200)).toBe(25);
    expect(percent(5, 0)).toBe(0);
  });
});

describe("locale guard", () => {
  it("tells a language tag Intl accepts from one it refuses", async () => {
    const { usableLanguage } = await import("../src/locale-guard");
    expect(usableLanguage("en-US")).toBe(true);
    expect(usableLanguage("de")).toBe(true);
    expect(usableLanguage("C")).toBe(false);
  });
});
