// Signing in and staying signed in: the demo users on the sign-in screen (demo mode only),
// the manager's idle-timeout setting, and the Sync screen's last error.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import type { DemoUser, SyncStatus } from "../src/contract";
import { Settings } from "../src/screens/manager/Settings";
import { SignIn } from "../src/screens/SignIn";
import { SyncPanel } from "../src/screens/SyncPanel";
import { fakeBackend, renderScreen } from "./fake";

const DEMO_USERS: DemoUser[] = [
  { badge: "1001", name: "Pia Picker", role: "picker", pin: "1234" },
  { badge: "9001", name: "Max Manager", role: "manager", pin: "999999" },
];

describe("SignIn in demo mode", () => {
  it("lists the demo users with badge and PIN, and a button fills in the badge", async () => {
    const signIn = vi.fn(async (badge: string) => ({ id: "u", name: "Max Manager", badge, role: "manager" as const }));
    const signedIn = vi.fn();
    const ui = renderScreen(<SignIn onSignedIn={signedIn} onProfiles={() => {}} demoUsers={DEMO_USERS} />, fakeBackend({ signIn }));
    expect(screen.getByText("Pia Picker (picker) · badge 1001 · PIN 1234")).toBeTruthy();
    fireEvent.click(screen.getByText("Max Manager (manager) · badge 9001 · PIN 999999"));
    await screen.findByText("Badge 9001: enter your PIN.");
    const pin = screen.getByLabelText("PIN") as HTMLInputElement;
    expect(document.activeElement, "the PIN field takes the focus").toBe(pin);
    expect(screen.getByText("Pia Picker (picker) · badge 1001 · PIN 1234"), "the PINs stay in view at the PIN step").toBeTruthy();
    pin.value = "999999";
    ui.key("Enter");
    await vi.waitFor(() => expect(signedIn).toHaveBeenCalled());
    expect(signIn).toHaveBeenCalledWith("9001", "999999");
  });

  it("answers a function key per demo user, so no mouse is needed", async () => {
    const ui = renderScreen(<SignIn onSignedIn={() => {}} onProfiles={() => {}} demoUsers={DEMO_USERS} />, fakeBackend());
    ui.key("F6");
    await screen.findByText("Badge 1001: enter your PIN.");
  });

  it("shows no users and no PINs outside demo mode", () => {
    renderScreen(<SignIn onSignedIn={() => {}} onProfiles={() => {}} />, fakeBackend());
    expect(screen.getByText("Scan your badge.")).toBeTruthy();
    expect(screen.queryByTestId("demo-users")).toBeNull();
    expect(screen.queryByText(/PIN 1234/)).toBeNull();
  });
});

describe("the idle-timeout setting", () => {
  it("shows the backend's timeout, refuses what is out of bounds, and saves a new one", async () => {
    const setIdleTimeout = vi.fn(async (minutes: number) => ({ user: null, idleTimeoutMinutes: minutes }));
    const ui = renderScreen(
      <Settings />,
      fakeBackend({ session: async () => ({ user: null, idleTimeoutMinutes: 7 }), setIdleTimeout }),
    );
    const field = (await screen.findByLabelText("Sign out after this many minutes without activity")) as HTMLInputElement;
    await vi.waitFor(() => expect(field.value, "the current setting is read from the backend").toBe("7"));

    fireEvent.input(field, { target: { value: "61" } });
    ui.key("F2");
    await screen.findByText("Enter a whole number of minutes from 1 to 60.");
    expect(setIdleTimeout, "out of bounds never reaches the backend").not.toHaveBeenCalled();
    expect(ui.sounds).toEqual(["error"]);

    fireEvent.input(field, { target: { value: "15" } });
    ui.key("F2");
    await screen.findByText("Saved: users are signed out after 15 minutes without activity.");
    expect(setIdleTimeout).toHaveBeenCalledWith(15);
  });

  it("says so when the backend refuses (a picker, say)", async () => {
    const ui = renderScreen(
      <Settings />,
      fakeBackend({
        session: async () => ({ user: null, idleTimeoutMinutes: 5 }),
        setIdleTimeout: async () => {
          throw new CommandError("forbidden", "only a manager can do this");
        },
      }),
    );
    const field = (await screen.findByLabelText("Sign out after this many minutes without activity")) as HTMLInputElement;
    await vi.waitFor(() => expect(field.value).toBe("5"));
    fireEvent.input(field, { target: { value: "10" } });
    ui.key("F2");
    await screen.findByText("Your role may not do this.");
  });
});

describe("SyncPanel's last error", () => {
  const BASE: SyncStatus = { online: true, pending: 0, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0 };

  function lastErrorFact(): HTMLElement {
    const label = screen.getByText("Last error");
    return label.parentElement as HTMLElement;
  }

  it("shows an error that still holds with its time", () => {
    renderScreen(<SyncPanel status={{ ...BASE, online: false, lastError: "server unreachable", lastErrorMs: 2_000, lastSuccessMs: 1_000 }} onBack={() => {}} />, fakeBackend());
    const fact = lastErrorFact();
    expect(fact.textContent).toContain("server unreachable (");
    expect(fact.dataset.tone).toBe("error");
  });

  it("marks the error once a later sync succeeded", () => {
    renderScreen(<SyncPanel status={{ ...BASE, lastError: "server unreachable", lastErrorMs: 2_000, lastSuccessMs: 3_000 }} onBack={() => {}} />, fakeBackend());
    const fact = lastErrorFact();
    expect(fact.textContent).toContain("synced fine since");
    expect(fact.dataset.tone, "a past error is not shown as a current one").toBe("past");
  });

  it("says None without an error", () => {
    renderScreen(<SyncPanel status={BASE} onBack={() => {}} />, fakeBackend());
    expect(lastErrorFact().textContent).toContain("None");
  });
});

describe("SignIn when the backend refuses the badge", () => {
  it("says the badge is locked and for how long, with no code", async () => {
    const signIn = vi.fn(async () => {
      throw new CommandError(
        "badge_locked",
        "this badge is locked on this PC after 5 wrong PINs in a row: try again in 30 seconds",
      );
    });
    const ui = renderScreen(<SignIn onSignedIn={() => {}} onProfiles={() => {}} demoUsers={DEMO_USERS} />, fakeBackend({ signIn }));
    fireEvent.click(screen.getByText("Pia Picker (picker) · badge 1001 · PIN 1234"));
    await screen.findByText("Badge 1001: enter your PIN.");
    const pin = screen.getByLabelText("PIN") as HTMLInputElement;
    pin.value = "0000";
    ui.key("Enter");
    const feedback = await screen.findByTestId("feedback");
    expect(feedback.textContent).toContain("This badge is locked on this PC");
    expect(feedback.textContent).toContain("try again in 30 seconds");
    expect(feedback.textContent, "no raw code").not.toContain("badge_locked");
    expect(await screen.findByText("Scan your badge."), "back to the badge step").toBeTruthy();
  });

  it("tells a manager with a too-short PIN to ask IT", async () => {
    const signIn = vi.fn(async () => {
      throw new CommandError("pin_too_short", "your PIN has fewer than the 6 digits a manager needs: ask IT for a longer PIN");
    });
    const ui = renderScreen(<SignIn onSignedIn={() => {}} onProfiles={() => {}} demoUsers={DEMO_USERS} />, fakeBackend({ signIn }));
    fireEvent.click(screen.getByText("Max Manager (manager) · badge 9001 · PIN 999999"));
    await screen.findByText("Badge 9001: enter your PIN.");
    (screen.getByLabelText("PIN") as HTMLInputElement).value = "9999";
    ui.key("Enter");
    const feedback = await screen.findByTestId("feedback");
    expect(feedback.textContent).toContain("ask IT for a longer PIN");
    expect(feedback.textContent).not.toContain("pin_too_short");
  });
});
