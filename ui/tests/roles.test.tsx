// Regression (demo): an admin never saw the Manager screens (the UI checked
// `=== "manager"`), and scanner setup was open to pickers.

import { render, screen } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { App } from "../src/App";
import type { AppStatus, Role } from "../src/contract";
import { isManager, mayOpen } from "../src/logic/roles";
import { Home } from "../src/screens/Home";
import { fakeBackend, makeEnv, OFFLINE, renderScreen } from "./fake";

function menu(role: Role): string[] {
  renderScreen(<Home role={role} onOpen={() => {}} />, fakeBackend());
  return Array.from(document.querySelectorAll(".menu .action span")).map((each) => each.textContent ?? "");
}

describe("roles", () => {
  it("treat an admin as a manager, and only managers and admins as managers", () => {
    expect(isManager("admin")).toBe(true);
    expect(isManager("manager")).toBe(true);
    expect(isManager("picker")).toBe(false);
    expect(mayOpen("admin", "manager")).toBe(true);
    expect(mayOpen("picker", "scanner")).toBe(false);
  });

  it("show an admin the Manager and scanner setup entries, a picker neither", () => {
    const admin = menu("admin");
    expect(admin).toContain("Manager");
    expect(admin).toContain("Scanner setup");
  });

  it("keep scanner setup and Manager from a picker", () => {
    const picker = menu("picker");
    expect(picker).not.toContain("Scanner setup");
    expect(picker).not.toContain("Manager");
    expect(picker).toContain("Sync");
  });

  it("open the Manager screen for an admin", async () => {
    const status: AppStatus = {
      appVersion: "0.1.0", eventVersion: 1, storeSchemaVersion: 1, demoAvailable: true, demo: false, demoUsers: [],
      profile: { id: "p", label: "Main", serverUrl: "https://a.example", tenant: "t", warehouse: "W1", device: "d" },
      user: { id: "u", name: "Ada", badge: "1", role: "admin" },
    };
    const backend = fakeBackend({ appStatus: async () => status, syncStatus: async () => OFFLINE, variances: async () => [] });
    render(<App env={makeEnv(backend).env} />);
    await screen.findByText("Ada (admin)");
    const manager = screen.getByText("Manager").closest("button")!;
    manager.click();
    await screen.findByText("No variances to review.");
  });
});
