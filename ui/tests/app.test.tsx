// The app shell: the online/offline and pending badge on every screen, the right first
// screen, sign-in with a wrong PIN, and sign-out when idle.

import { act, render, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { App } from "../src/App";
import { CommandError } from "../src/backend";
import type { AppStatus, SyncStatus } from "../src/contract";
import { fakeBackend, fakeResolve, makeEnv, OFFLINE, pressKey } from "./fake";

const PROFILE = { id: "p", label: "Main", serverUrl: "https://aisle.example", tenant: "t", warehouse: "W1", device: "d" };
const STATUS: AppStatus = { appVersion: "0.1.0", eventVersion: 1, storeSchemaVersion: 1, profile: PROFILE, user: null, demo: false };

describe("App", () => {
  it("shows enrollment with the badge when no profile is set", async () => {
    const backend = fakeBackend({ appStatus: async () => ({ ...STATUS, profile: null }), syncStatus: async () => OFFLINE });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Enroll this PC with the server, or start the demo.");
    expect(screen.getByText("Offline")).toBeTruthy();
    expect(screen.getByText("3 pending")).toBeTruthy();
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
    act(() => push({ online: true, pending: 0, quarantined: 1 }));
    await screen.findByText("Online");
    expect(screen.getByText("0 pending")).toBeTruthy();
    expect(screen.getByText("1 quarantined")).toBeTruthy();
  });

  it("says a wrong badge or PIN with one message, then signs in, then signs out when idle", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let pinOk = false;
    const signOut = vi.fn(async () => null);
    const backend = fakeBackend({
      appStatus: async () => STATUS,
      syncStatus: async () => OFFLINE,
      resolveScan: fakeResolve(),
      signIn: async (badge) => {
        if (!pinOk) throw new CommandError("bad_pin", "wrong badge or pin");
        return { id: "u", name: "Ana", badge, role: "picker" };
      },
      signOut,
    });
    const { env } = makeEnv(backend);
    const ui = { scan: (raw: string) => env.scans.publish(raw), key: pressKey };
    render(<App env={env} idleMs={60_000} />);
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
    await act(async () => {
      vi.advanceTimersByTime(70_000);
    });
    await screen.findByText("You were signed out after a period without activity.");
    expect(signOut).toHaveBeenCalled();
    vi.useRealTimers();
  });
});
