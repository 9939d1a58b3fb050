// Manager: variances to approve or reject, the discrepancy inbox, quarantined events, the
// event history, the stock chart and the profile's settings, one tab each, chosen with the
// number keys.

import { useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { t } from "../i18n";
import { ChartTab } from "./manager/ChartTab";
import { History } from "./manager/History";
import { Discrepancies, Quarantined } from "./manager/Inbox";
import { Settings } from "./manager/Settings";
import { Variances } from "./manager/Variances";

export const TABS = ["variances", "discrepancies", "quarantined", "history", "chart", "settings"] as const;
type Tab = (typeof TABS)[number];

export function Manager({ onBack }: { onBack: () => void }) {
  const [tab, setTab] = useState<Tab>("variances");
  return (
    <section class="screen">
      <nav class="tabs">
        {TABS.map((each, index) => (
          <div key={each} class={each === tab ? "tab tab-active" : "tab"}>
            <Action keyName={String(index + 1)} label={t(`manager.${each}`)} tone={each === tab ? "primary" : "plain"} onRun={() => setTab(each)} />
          </div>
        ))}
      </nav>
      {tab === "variances" && <Variances />}
      {tab === "discrepancies" && <Discrepancies />}
      {tab === "quarantined" && <Quarantined />}
      {tab === "history" && <History />}
      {tab === "chart" && <ChartTab />}
      {tab === "settings" && <Settings />}
      <Actions>
        <Action keyName="Escape" label={t("action.home")} onRun={onBack} />
      </Actions>
    </section>
  );
}
