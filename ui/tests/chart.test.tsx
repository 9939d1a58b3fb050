// The manager's stock chart tab waits for a scan: its item field takes the focus when the
// tab opens, so a manager scans an item without clicking first (seen on the real app: the
// field stayed unfocused and a scan went nowhere).

import { screen, waitFor } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { chartHeight, chartOptions, timeTicks } from "../src/components/Chart";
import { Manager } from "../src/screens/Manager";
import { fakeBackend, pressKey, renderScreen } from "./fake";

describe("Chart tab", () => {
  it("gives the item field the focus when it opens", async () => {
    renderScreen(<Manager onBack={() => {}} />, fakeBackend({ variances: async () => [] }));
    await screen.findByText("Chart");
    pressKey("5");
    await waitFor(() => expect(document.activeElement?.id).toBe("chart-item"));
  });
});

describe("Chart height", () => {
  it("fits under the screen's fixed parts at 640x480 and stays readable on big screens", () => {
    expect(chartHeight(480)).toBe(180);
    expect(chartHeight(1080)).toBe(320);
    expect(chartHeight(300)).toBe(160);
    expect(chartOptions(640, chartHeight(480)).height).toBe(180);
  });
});

describe("Chart time axis", () => {
  it("labels ticks as a clock reads, never as fractions of a second", () => {
    const labels = timeTicks([1_700_000_032, 1_700_000_032.25, 1_700_000_032.5]);
    for (const label of labels) expect(label).toMatch(/^\d{1,2}:\d{2}:\d{2}/);
    const minutes = timeTicks([1_700_000_000, 1_700_000_600]);
    for (const label of minutes) expect(label).toMatch(/^\d{2}:\d{2}$/);
  });

  it("never puts ticks closer than a second or labels on top of each other", () => {
    const options = chartOptions(640);
    const time = options.axes?.[0];
    expect(Math.min(...((time?.incrs as number[]) ?? [0]))).toBeGreaterThanOrEqual(1);
    expect(time?.space).toBeGreaterThanOrEqual(100);
  });
});
