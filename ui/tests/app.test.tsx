// The app shell: the online/offline and pending badge on every screen, the right first
// screen, sign-in with a wrong PIN, and following the backend's idle sign-out.

import { act, render, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { App } from "../src/App";
import { CommandError } from "../src/backend";
import type { AppStatus, SyncStatus } from "../src/contract";
import { fakeBackend, fakeResolve, makeEnv, OFFLINE, pressKey } from "./fake";

const PROFILE = { id: "p", label: "Main", serverUrl: "https://aisle.example", tenant: "t", warehouse: "W1", device: "d" };
const STATUS: AppStatus = { appVersion: "0.1.0", eventVersion: 1, storeSchemaVersion: 1, profile: PROFILE, user: null, demoAvailable: true, demo: false, demoUsers: [] };

describe("App", () => {
  it("shows enrollment with the badge when no profile is set", async () => {
    const backend = fakeBackend({ appStatus: async () => ({ ...STATUS, profile: null }), syncStatus: async () => OFFLINE });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Enroll this PC with the server, or start the demo.");
    expect(screen.getByText("Offline")).toBeTruthy();
    expect(screen.getByText("3 pending")).toBeTruthy();
    expect(screen.getByText("Start demo")).toBeTruthy();
  });

  it("does not offer the demo when the build has no demo mode", async () => {
    const backend = fakeBackend({
      appStatus: async () => ({ ...STATUS, profile: null, demoAvailable: false }),
      syncStatus: async () => OFFLINE,
      listProfiles: async () => [],
    });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Enroll this PC with the server.");
    expect(screen.queryByText("Start demo")).toBeNull();
  });

  it("moves on to sign-in by itself once the demo, started in the background, has enrolled the PC", async () => {
    let enrolled = false;
    const backend = fakeBackend({
      appStatus: async () => (enrolled ? { ...STATUS, demo: true } : { ...STATUS, profile: null }),
      syncStatus: async () => OFFLINE,
      listProfiles: async () => [],
    });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Enroll this PC with the server, or start the demo.");
    enrolled = true;
    await screen.findByText("Scan your badge.", {}, { timeout: 3_000 });
  });

  it("follows sync-status events in the badge", async () => {
    let push: (status: SyncStatus) => void = () => {};
    const backend = fakeBackend({
      appStatus: async () => STATUS,
      syncStatus: async () => OFFLINE,
      onSyncStatus: (handler) => {
        push = handler;
        return () => {};
      },
    });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Scan your badge.");
    await screen.findByText("3 pending");
    act(() => push({ online: true, pending: 0, quarantined: 1, live: false, pulledNew: 0, masterChanged: 0 }));
    await screen.findByText("Online");
    expect(screen.getByText("0 pending")).toBeTruthy();
    expect(screen.getByText("1 quarantined")).toBeTruthy();
  });

  it("says a wrong badge or PIN with one message, then signs in, then follows the backend's idle sign-out", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let pinOk = false;
    let sessionOn = true;
    const reports: boolean[] = [];
    const signOut = vi.fn(async () => null);
    const ana = { id: "u", name: "Ana", badge: "0042", role: "picker" as const };
    const backend = fakeBackend({
      appStatus: async () => STATUS,
      syncStatus: async () => OFFLINE,
      resolveScan: fakeResolve(),
      signIn: async (badge) => {
        if (!pinOk) throw new CommandError("bad_pin", "wrong badge or pin");
        return { ...ana, badge };
      },
      signOut,
      session: async (activity) => {
        reports.push(activity);
        return { user: sessionOn ? ana : null, idleTimeoutMinutes: 5 };
      },
    });
    const { env } = makeEnv(backend);
    const ui = { scan: (raw: string) => env.scans.publish(raw), key: pressKey };
    render(<App env={env} sessionCheckMs={1_000} />);
    await screen.findByText("Scan your badge.");
    ui.scan("U:0042");
    const pin = (await screen.findByLabelText("PIN")) as HTMLInputElement;
    pin.value = "0000";
    ui.key("Enter");
    await screen.findByText("Badge or PIN is wrong.");
    pinOk = true;
    ui.scan("U:0042");
    const again = (await screen.findByLabelText("PIN")) as HTMLInputElement;
    again.value = "1234";
    ui.key("Enter");
    await screen.findByText("Receive");
    expect(screen.getByText("Ana (picker)")).toBeTruthy();

    // Quiet for a while: the checks say so, and the UI does not sign out on its own.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_500);
    });
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.every((activity) => !activity), "no key was pressed: no activity to report").toBe(true);
    expect(screen.getByText("Ana (picker)")).toBeTruthy();
    // A key press is reported with the next check, which restarts the backend's timer.
    await act(async () => {
      pressKey("ArrowDown");
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(reports.at(-1), "the key since the last check is reported as activity").toBe(true);

    // The backend ends the session: the screen follows.
    sessionOn = false;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    await screen.findByText("You were signed out after a period without activity.");
    expect(screen.queryByText("Ana (picker)")).toBeNull();
    expect(signOut).toHaveBeenCalled();
    vi.useRealTimers();
  });
});
