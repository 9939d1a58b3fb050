// The event history (audit trail), filterable by item, location, user and device. Item and
// location filters take a scan or a typed code and are resolved to ids; a scan fills the
// matching filter.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import { Field } from "../../components/Field";
import type { HistoryFilter, HistoryPage } from "../../contract";
import { useEnv, useScan } from "../../env";
import { t } from "../../i18n";
import { HistoryTable } from "../Lookup";
import { resolveOrReport, Scroll, useRereadOnPull } from "../common";

export function History() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [item, setItem] = useState("");
  const [location, setLocation] = useState("");
  const [user, setUser] = useState("");
  const [device, setDevice] = useState("");
  const [page, setPage] = useState<HistoryPage | null>(null);
  const [filter, setFilter] = useState<HistoryFilter>({});

  async function load(next: HistoryFilter): Promise<void> {
    try {
      setPage(await backend.history(next));
      setFilter(next);
      // An old error no longer holds once a search went through.
      feedback.clear();
    } catch (error) {
      feedback.fail(error);
    }
  }
  useEffect(() => void load({}), []);
  // The trail grows as other PCs' events land: the page shown is read again, quietly.
  useRereadOnPull(() => void backend.history(filter).then(setPage, () => {}));

  /** The id a typed or scanned code names, if it is of the wanted kind. */
  async function idOf(code: string, kind: "item" | "location"): Promise<string | null | undefined> {
    if (code.trim() === "") return undefined;
    const resolved = await resolveOrReport(backend, feedback, code);
    if (resolved === null) return null;
    if (kind === "item" && resolved.kind === "item") return resolved.item.id;
    if (kind === "location" && resolved.kind === "location") return resolved.location.id;
    feedback.refuse(kind === "item" ? t("scan.expectedItem") : t("scan.expectedLocation"));
    return null;
  }

  async function search(): Promise<void> {
    const itemId = await idOf(item, "item");
    const locationId = await idOf(location, "location");
    if (itemId === null || locationId === null) return;
    const blankless = (text: string) => (text.trim() === "" ? undefined : text.trim());
    await load({ item: itemId, location: locationId, user: blankless(user), device: blankless(device) });
  }

  useScan((raw) => {
    void resolveOrReport(backend, feedback, raw).then((resolved) => {
      if (resolved === null) return;
      // A good scan answers whatever error was showing.
      feedback.clear();
      if (resolved.kind === "item") setItem(raw);
      else if (resolved.kind === "location") setLocation(raw);
      else feedback.refuse(t("scan.expectedItem"));
    });
  });

  return (
    <>
      <div class="field-row">
        <Field id="history-item" label={t("field.item")} value={item} onValue={setItem} onEnter={() => void search()} />
        <Field id="history-location" label={t("field.location")} value={location} onValue={setLocation} onEnter={() => void search()} />
        <Field id="history-user" label={t("history.user")} value={user} onValue={setUser} onEnter={() => void search()} />
        <Field id="history-device" label={t("history.device")} value={device} onValue={setDevice} onEnter={() => void search()} />
      </div>
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="F2" label={t("history.search")} tone="primary" onRun={() => void search()} />
        <Action
          keyName="F6"
          label={t("history.nextPage")}
          disabled={page?.nextPage === undefined}
          onRun={() => void load({ ...filter, page: page?.nextPage })}
        />
      </Actions>
      {page !== null && (
        <Scroll>
          <HistoryTable entries={page.entries} />
        </Scroll>
      )}
    </>
  );
}
