// The small things seen on the demo: raw discrepancy kinds and "-" placeholders, slopes in
// the stock chart, "1 minutes", the wrong-PIN message said twice, Esc on the PIN step keeping
// the old badge (the next scan read `1001U:1001`), the GS character shown as a box, device
// ids in the history and an old error that outlived a good scan.

import { fireEvent, screen } from "@testing-library/preact";
import uPlot from "uplot";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import { chartOptions } from "../src/components/Chart";
import { tn } from "../src/i18n";
import { visibleScan } from "../src/screens/ScannerSetup";
import { SignIn } from "../src/screens/SignIn";
import { Discrepancies } from "../src/screens/manager/Inbox";
import { History } from "../src/screens/manager/History";
import { Settings } from "../src/screens/manager/Settings";
import { BOLT, fakeBackend, fakeResolve, LOC_A, renderScreen } from "./fake";

describe("small things", () => {
  it("shows a discrepancy's kind in words and its real location, item and lot", async () => {
    renderScreen(
      <Discrepancies />,
      fakeBackend({
        discrepancies: async () => [
          { id: "d1", kind: "count_variance", summary: "counted 3, expected 10", location: LOC_A, item: BOLT, lot: "L7" },
          { id: "d2", kind: "over_pick", summary: "line 2: picked 6 of 5" },
        ],
      }),
    );
    await screen.findByText("Count off, waiting for review");
    expect(screen.getByText("Over-pick")).toBeTruthy();
    expect(document.body.textContent).not.toContain("count_variance");
    expect(screen.getByText("A-01-01")).toBeTruthy();
    expect(screen.getByText("BOLT-M6 · Bolt M6")).toBeTruthy();
    expect(screen.getByText("L7")).toBeTruthy();
    const cells = Array.from(document.querySelectorAll("td")).map((cell) => cell.textContent);
    expect(cells, "no '-' placeholders").not.toContain("-");
  });

  it("draws stock as steps with readable axis text", () => {
    const options = chartOptions(640);
    expect(options.series[1]?.paths, "on hand is drawn with a path builder, not straight slopes").toBeTypeOf("function");
    expect(uPlot.paths.stepped, "uPlot has the stepped builder").toBeTypeOf("function");
    for (const axis of options.axes ?? []) expect(axis.font).toMatch(/1[6-9]px|2\dpx/);
  });

  it("says 1 minute, and 5 minutes", async () => {
    expect(tn("settings.idleSaved", 1, { minutes: 1 })).toContain("after 1 minute without");
    expect(tn("settings.idleSaved", 5, { minutes: 5 })).toContain("after 5 minutes without");
    const ui = renderScreen(
      <Settings />,
      fakeBackend({ session: async () => ({ user: null, idleTimeoutMinutes: 5 }), setIdleTimeout: async (minutes) => ({ user: null, idleTimeoutMinutes: minutes }) }),
    );
    const field = (await screen.findByLabelText(/Sign out after/)) as HTMLInputElement;
    fireEvent.input(field, { target: { value: "1" } });
    ui.key("F2");
    await screen.findByText("Saved: users are signed out after 1 minute without activity.");
  });

  it("says a wrong PIN once, and Esc on the PIN step forgets the badge", async () => {
    const signIn = vi.fn(async () => Promise.reject(new CommandError("bad_pin", "that badge and pin do not match a user of this warehouse")));
    const ui = renderScreen(<SignIn onSignedIn={() => {}} onProfiles={() => {}} />, fakeBackend({ resolveScan: fakeResolve(), signIn }));
    ui.scan("U:1001");
    const pin = (await screen.findByLabelText("PIN")) as HTMLInputElement;
    pin.value = "0000";
    ui.key("Enter");
    await screen.findByText("Badge or PIN is wrong.");
    expect(document.body.textContent?.toLowerCase().match(/do not match|is wrong/g)?.length, "one sentence, not two").toBe(1);

    ui.scan("U:1001");
    await screen.findByLabelText("PIN");
    ui.key("Escape");
    const badge = (await screen.findByLabelText("Badge")) as HTMLInputElement;
    expect(badge.value, "Esc clears the badge").toBe("");
    ui.scan("U:1001");
    await screen.findByText("Badge 1001: enter your PIN.");
  });

  it("shows a badge lock in the manager's history as a plain line, with the PC and the badge", async () => {
    renderScreen(
      <History />,
      fakeBackend({
        resolveScan: fakeResolve(),
        history: async () => ({
          entries: [
            {
              eventId: "e9", kind: "badge_locked", hlcMs: 1_700_000_000_000, device: "0190ffff-1111-7222-8333-444455556666",
              deviceName: "Dock PC", user: "Ana", summary: "badge 1001 locked on its PC after 5 wrong PINs in a row, for 30 s",
            },
          ],
        }),
      }),
    );
    await screen.findByText("Badge locked");
    expect(document.body.textContent).toContain("badge 1001 locked on its PC after 5 wrong PINs in a row, for 30 s");
    expect(document.body.textContent).toContain("Dock PC");
    expect(document.body.textContent, "no raw kind").not.toContain("badge_locked");
  });

  it("shows the GS character as <GS>", () => {
    expect(visibleScan("0109501101020917\u001d10ABC")).toBe("0109501101020917<GS>10ABC");
  });

  it("names this PC in the history instead of its id, and clears an old error after a good scan", async () => {
    const ui = renderScreen(
      <History />,
      fakeBackend({
        appStatus: async () => ({
          appVersion: "0", eventVersion: 1, storeSchemaVersion: 1, demoAvailable: true, demo: false, demoUsers: [], user: null,
          profile: { id: "p", label: "Main", serverUrl: "https://a.example", tenant: "t", warehouse: "w", device: "0190d1c2-aaaa-7bbb-8ccc-123456789abc" },
        }),
        resolveScan: fakeResolve(),
        history: async () => ({
          entries: [
            { eventId: "e1", kind: "received", hlcMs: 1_700_000_000_000, device: "0190d1c2-aaaa-7bbb-8ccc-123456789abc", user: "Ana", summary: "received 5" },
            { eventId: "e2", kind: "picked", hlcMs: 1_700_000_000_001, device: "0190ffff-1111-7222-8333-444455556666", user: "Bo", summary: "picked 1" },
          ],
        }),
      }),
    );
    await screen.findByText("This PC");
    expect(document.body.textContent).not.toContain("0190d1c2-aaaa-7bbb-8ccc-123456789abc");
    expect(document.body.textContent).not.toContain("0190ffff-1111-7222-8333-444455556666");
    ui.scan("NOPE");
    await screen.findByText("Unknown barcode.");
    ui.scan("S:BOLT-M6");
    await vi.waitFor(() => expect(screen.queryByText("Unknown barcode.")).toBeNull());
  });
});
