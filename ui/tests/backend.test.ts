// The backend interface: command names and argument shapes per docs/desktop-commands.md,
// and {code, message} errors.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { CommandError, createBackend, tauriBackend, toCommandError, type Invoke } from "../src/backend";
import { ERROR_CODES } from "../src/contract";
import { errorText } from "../src/errors";
import { t } from "../src/i18n";

function recording(answer: unknown = null): { invoke: Invoke; calls: Array<[string, unknown]> } {
  const calls: Array<[string, unknown]> = [];
  return {
    calls,
    invoke: async (command, args) => {
      calls.push([command, args]);
      return answer;
    },
  };
}

describe("backend", () => {
  it("calls the contract's commands with camelCase arguments in `args` and drops absent optionals", async () => {
    const { invoke, calls } = recording();
    const backend = createBackend(invoke, undefined);
    await backend.receive({ location: "l", item: "i", qty: 3, lot: undefined });
    await backend.openPickList();
    await backend.reviewCount("e1", false);
    await backend.signIn("U:0042", "1234");
    await backend.switchProfile("p1");
    await backend.history({ item: "i", page: 2 });
    // The Rust commands take one struct parameter named `args`.
    expect(calls).toEqual([
      ["receive", { args: { location: "l", item: "i", qty: 3 } }],
      ["open_pick_list", { args: {} }],
      ["review_count", { args: { countedEvent: "e1", approve: false } }],
      ["sign_in", { args: { badge: "U:0042", pin: "1234" } }],
      ["switch_profile", { args: { profileId: "p1" } }],
      ["history", { args: { item: "i", page: 2 } }],
    ]);
  });

  it("asks what a location holds, records a refusal again and moves over the source as the contract says", async () => {
    const { invoke, calls } = recording();
    const backend = createBackend(invoke, undefined);
    await backend.stockAt("loc", "item");
    await backend.recordAgain("e9");
    await backend.moveStock({ from: "a", to: "b", item: "i", qty: 20, confirmOverSource: true });
    await backend.shortPick({ pickList: "pl", line: 1, qtyShort: 2, reason: "damaged", lot: "L1" });
    expect(calls).toEqual([
      ["stock_at", { args: { location: "loc", item: "item" } }],
      ["record_again", { args: { eventId: "e9" } }],
      ["move_stock", { args: { from: "a", to: "b", item: "i", qty: 20, confirmOverSource: true } }],
      ["short_pick", { args: { pickList: "pl", line: 1, qtyShort: 2, reason: "damaged", lot: "L1" } }],
    ]);
  });

  it("lists every error code the command contract names", () => {
    const doc = readFileSync(join(__dirname, "..", "..", "docs", "desktop-commands.md"), "utf8");
    const paragraph = doc.split("The UI branches on `code` only. Codes:")[1]?.split("Quantities are")[0] ?? "";
    // What a code's parentheses say (`stock_at`, `confirmOverSource`) is no code.
    const documented = [...paragraph.replace(/\([^()]*\)/g, "").matchAll(/`([a-z_]+)`/g)].map((match) => match[1] ?? "");
    expect(documented, "the codes paragraph was found").toContain("lot_required");
    for (const code of documented) expect(ERROR_CODES, code).toContain(code);
  });

  // ERROR_CODES is generated from Rust and lacks the UI's own two codes; they keep their words.
  it("words the UI's own codes as well as the backend's", () => {
    expect(errorText(new CommandError("backend_unreachable", "no Tauri")).title).toBe(t("error.backend_unreachable"));
    expect(errorText(new CommandError("badge_locked", "locked for 60 s")).title).toBe(t("error.badge_locked"));
    expect(errorText(new CommandError("made_up", "x")).title).toBe(t("error.other", { code: "made_up" }));
  });

  it("keeps the code of a {code, message} rejection", async () => {
    const backend = createBackend(async () => {
      throw { code: "wrong_location", message: "expected L:A-01" };
    }, undefined);
    const error = await backend.resolveScan("x").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).is("wrong_location")).toBe(true);
  });

  it("wraps Tauri's plain-string rejections and a missing Tauri", async () => {
    expect(toCommandError("command foo not found").code).toBe("backend_failed");
    const error = await createBackend(undefined, undefined).appStatus().catch((caught: unknown) => caught);
    expect((error as CommandError).code).toBe("backend_unreachable");
  });

  it("outside the app (no Tauri IPC in the page) the real backend is unreachable, not broken", async () => {
    // The app has no global `window.__TAURI__`; `@tauri-apps/api` needs Tauri's IPC internals.
    const error = await tauriBackend().appStatus().catch((caught: unknown) => caught);
    expect((error as CommandError).code, "a plain browser must get backend_unreachable").toBe("backend_unreachable");
  });

  it("delivers the scan and sync-status events and stops on unsubscribe", async () => {
    const handlers = new Map<string, (event: { payload: unknown }) => void>();
    let unlistened = 0;
    const backend = createBackend(undefined, async (event, handler) => {
      handlers.set(event, handler);
      return () => {
        unlistened += 1;
      };
    });
    const scans: string[] = [];
    const stop = backend.onScan((raw) => scans.push(raw));
    await Promise.resolve();
    handlers.get("scan")?.({ payload: { raw: "L:A-01" } });
    expect(scans).toEqual(["L:A-01"]);
    stop();
    expect(unlistened).toBe(1);
  });
});
