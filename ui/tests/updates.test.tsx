// Updates on the manager's Settings tab: what the server offers is shown when the tab opens,
// downloaded on F4, installed on F5 only once downloaded, and a refusal (events waiting to be
// sent, a bad signature) is shown and installs nothing.

import { screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import type { UpdateStatus } from "../src/contract";
import { Settings } from "../src/screens/manager/Settings";
import { fakeBackend, renderScreen } from "./fake";

const SESSION = { user: { id: "u", name: "Mia", badge: "0001", role: "manager" as const }, idleTimeoutMinutes: 5 };
const OFFERED: UpdateStatus = { current: "0.1.0", available: "0.3.0", notes: "Expected receipts", ready: false };

describe("Settings, updates", () => {
  it("shows the offered version, downloads it, and installs only when asked", async () => {
    const downloadUpdate = vi.fn(async () => ({ ...OFFERED, ready: true }));
    const installUpdate = vi.fn(async () => null);
    const ui = renderScreen(
      <Settings />,
      fakeBackend({ session: async () => SESSION, checkUpdate: async () => OFFERED, downloadUpdate, installUpdate }),
    );
    await screen.findByText("Update available: 0.3.0");
    expect(screen.getByText("This PC runs Aisle 0.1.0.")).toBeTruthy();
    ui.key("F5");
    expect(installUpdate, "nothing to install before the download").not.toHaveBeenCalled();
    ui.key("F4");
    await screen.findByText(/is downloaded and its signature checked/);
    expect(downloadUpdate).toHaveBeenCalledTimes(1);
    expect(installUpdate, "downloading does not install").not.toHaveBeenCalled();
    ui.key("F5");
    await vi.waitFor(() => expect(installUpdate).toHaveBeenCalledTimes(1));
  });

  it("says when nothing is due, and shows a refused install", async () => {
    const ready = { ...OFFERED, ready: true };
    const installUpdate = vi.fn(async () => {
      throw new CommandError("update_blocked", "3 events recorded on this PC are waiting to be sent: sync first, then install");
    });
    const ui = renderScreen(
      <Settings />,
      fakeBackend({ session: async () => SESSION, checkUpdate: async () => ready, installUpdate }),
    );
    await screen.findByText(/is downloaded/);
    ui.key("F5");
    await screen.findByText(/3 events recorded on this PC are waiting to be sent/);
  });

  it("says no update is due", async () => {
    renderScreen(<Settings />, fakeBackend({ session: async () => SESSION, checkUpdate: async () => ({ current: "0.3.0", ready: false }) }));
    await screen.findByText("No update is due for this PC.");
    expect(screen.queryByText("Download")).toBeNull();
  });
});
