// Count: a task from the list (made from a discrepancy, a short pick or a manager's request)
// or an ad-hoc count. Counts are blind: the expected quantity is never shown, not even after
// the count. A count the backend finds off by more than the tolerance is counted once more.
// A lot-tracked item is counted per lot: the task's, the scan's, or one chosen in the lot
// step (offered without quantities, which would give the count away).

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import { toCommandError } from "../backend";
import type { CountTask, Item, Location, LotStockView } from "../contract";
import { useEnv, useScan } from "../env";
import { hasMessage, t } from "../i18n";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, Scroll, useRereadOnPull, type Fact } from "./common";
import { loadStock, lotFromScan, LotStep } from "./LotStep";

type Step = "location" | "item" | "lot" | "qty";

/** Why the task is open, in words; a manager's request says who asked and their note. */
export function taskReason(task: CountTask): string {
  return withMark(reasonWords(task), task.needsUpdate);
}

function reasonWords(task: CountTask): string {
  if (task.reason === "requested") {
    const who = task.requestedBy ?? "";
    return task.note !== undefined && task.note !== ""
      ? t("countReason.requestedNote", { who, note: task.note })
      : t("countReason.requested", { who });
  }
  const key = `countReason.${task.reason}`;
  return hasMessage(key) ? t(key) : task.reason;
}

/** `words`, and the mark of stock that an event this version cannot read touches. */
export function withMark(words: string, needsUpdate: string | undefined): string {
  return needsUpdate === undefined ? words : `${words} · ${t("stock.needsUpdate", { version: needsUpdate })}`;
}

/** How many times a count is taken before it goes to review as it stands. */
const MAX_ATTEMPTS = 2;

export function Count({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [tasks, setTasks] = useState<CountTask[] | null>(null);
  /** The task being counted; null with `counting` set is an ad-hoc count. */
  const [task, setTask] = useState<CountTask | null>(null);
  const [counting, setCounting] = useState(false);
  const [step, setStep] = useState<Step>("location");
  const [location, setLocation] = useState<Location | null>(null);
  const [item, setItem] = useState<Item | null>(null);
  const [lot, setLot] = useState<string | undefined>(undefined);
  const [scanText, setScanText] = useState("");
  const [qty, setQty] = useState("");
  const [attempt, setAttempt] = useState(1);
  /** Units scanned on this item so far: a repeat scan counts one more. */
  const [unitsScanned, setUnitsScanned] = useState(0);
  /** Which lots the location holds of the item, for the lot step (never shown with quantities). */
  const [stock, setStock] = useState<LotStockView[] | null>(null);

  async function loadTasks(): Promise<void> {
    try {
      setTasks(await backend.countTasks());
    } catch (error) {
      feedback.fail(error);
    }
  }
  useEffect(() => void loadTasks(), []);
  // A manager's count request, raised on another PC, appears in the list as it lands.
  useRereadOnPull(() => void backend.countTasks().then(setTasks, () => {}));

  function start(chosen: CountTask | null, at: Location | null = null): void {
    setTask(chosen);
    setCounting(true);
    setStep(at === null ? "location" : "item");
    setLocation(at);
    setItem(null);
    setLot(chosen?.lot);
    setQty("");
    setAttempt(1);
    setUnitsScanned(0);
    feedback.clear();
  }

  /** A location scanned on the task list: its task if it has one, else an ad-hoc count there. */
  function startAt(at: Location): void {
    const here = (tasks ?? []).find((each) => each.location.id === at.id) ?? null;
    start(here, at);
    feedback.success(t("scan.locationSet", { code: at.code }));
  }

  function askLot(at: Location, of: Item): void {
    setStock(null);
    setStep("lot");
    void loadStock(backend, at, of).then(setStock);
  }

  function takeLot(chosen: string): void {
    setLot(chosen);
    feedback.success(t("lot.set", { lot: chosen }));
    setStep("qty");
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (counting && step === "lot" && item !== null) {
      const chosen = await lotFromScan(backend, feedback, raw, item, stock);
      if (chosen !== null) takeLot(chosen);
      return;
    }
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (!counting) {
      if (resolved.kind === "location") startAt(resolved.location);
      else feedback.refuse(t("scan.expectedLocation"));
      return;
    }
    if (step === "qty") {
      // The same item again: the person is counting by scanning, one scan a unit.
      if (resolved.kind === "item" && item !== null && resolved.item.id === item.id) {
        const units = unitsScanned + (resolved.quantity ?? resolved.packSize);
        setUnitsScanned(units);
        setQty(String(units));
        feedback.success(t("scan.oneMore", { qty: units }));
      } else feedback.refuse(t("scan.notNow"));
      return;
    }
    if (step === "location") {
      if (resolved.kind !== "location") feedback.refuse(t("scan.expectedLocation"));
      else if (task !== null && resolved.location.id !== task.location.id) {
        feedback.refuse(t("pick.wrong_location"), t("pick.expected", { expected: task.location.code }));
      } else {
        setLocation(resolved.location);
        setStep("item");
        feedback.success(t("scan.locationSet", { code: resolved.location.code }));
      }
    } else if (resolved.kind === "location" && task === null) {
      // An ad-hoc count moves on to another location with a scan of it.
      setLocation(resolved.location);
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else if (resolved.kind !== "item") feedback.refuse(t("scan.expectedItem"));
    else if (task !== null && resolved.item.id !== task.item.id) {
      feedback.refuse(t("pick.wrong_item"), t("pick.expected", { expected: `${task.item.sku} ${task.item.name}` }));
    } else {
      setItem(resolved.item);
      setUnitsScanned(resolved.quantity ?? resolved.packSize);
      const countedLot = resolved.lot ?? task?.lot ?? (item?.id === resolved.item.id ? lot : undefined);
      setLot(countedLot);
      feedback.success(t("receive.itemScanned", { sku: resolved.item.sku, name: resolved.item.name }));
      if (resolved.item.lotTracked && (countedLot ?? "") === "" && location !== null) askLot(location, resolved.item);
      else setStep("qty");
    }
  }
  useScan((raw) => void onScan(raw));

  async function submit(text: string): Promise<void> {
    const counted = parseQuantity(text, true);
    if (counted === null || location === null || item === null) {
      feedback.refuse(t("qty.invalid"));
      return;
    }
    try {
      const recorded = await backend.count({ location: location.id, item: item.id, lot, countedQty: counted, task: task?.id });
      // A marked key's figure may be off: counting again would not help, a manager decides.
      const marked = recorded.needsUpdate !== undefined;
      if (recorded.decision === "needs_review" && !marked && attempt < MAX_ATTEMPTS) {
        setAttempt(attempt + 1);
        setQty("");
        feedback.refuse(t("count.recount"));
        return;
      }
      const title = withMark(
        recorded.decision === "needs_review" ? t("count.toReview") : t("count.done"),
        recorded.needsUpdate,
      );
      feedback.success(title, recorded.notices);
      if (task === null) {
        // Ad hoc: stay on this location for the next item.
        setItem(null);
        setLot(undefined);
        setQty("");
        setAttempt(1);
        setStep("item");
      } else {
        setCounting(false);
        setTask(null);
      }
      void loadTasks();
    } catch (error) {
      if (toCommandError(error).is("lot_required")) {
        // The backend wants the lot this screen did not know to ask: ask it, then count. Its
        // message lists what each lot holds, which a blind count must not show.
        feedback.refuse(t("error.lot_required"));
        askLot(location, item);
      } else feedback.fail(error);
    }
  }

  function back(): void {
    feedback.clear();
    if (!counting) onBack();
    else if (step === "qty" || step === "lot") setStep("item");
    else if (step === "item") setStep("location");
    else setCounting(false);
  }

  if (!counting) {
    return (
      <section class="screen">
        <Prompt>{t("count.choose")}</Prompt>
        <FeedbackBox message={feedback.message} />
        <Scroll>
        <ol class="choices">
          {(tasks ?? []).slice(0, 9).map((each, index) => (
            <li key={each.id}>
              <Action
                keyName={String(index + 1)}
                label={t("count.taskLabel", { code: each.location.code, sku: each.item.sku, reason: taskReason(each) })}
                onRun={() => start(each)}
              />
            </li>
          ))}
        </ol>
        </Scroll>
        {tasks !== null && tasks.length === 0 && <p class="hint">{t("count.noTasks")}</p>}
        <Actions>
          <Action keyName="F3" label={t("count.adHoc")} tone="primary" onRun={() => start(null)} />
          <Action keyName="Escape" label={t("action.home")} onRun={back} />
        </Actions>
      </section>
    );
  }

  const facts: Fact[] = [];
  const shownLocation = location ?? task?.location;
  const shownItem = item ?? task?.item;
  if (shownLocation !== undefined) facts.push({ label: t("field.location"), value: shownLocation.code });
  if (shownItem !== undefined) facts.push({ label: t("field.item"), value: `${shownItem.sku} · ${shownItem.name}` });
  if (lot !== undefined) facts.push({ label: t("field.lot"), value: lot });

  return (
    <section class="screen">
      <Facts facts={facts} />
      {step === "lot" && item !== null && location !== null ? (
        <LotStep item={item} location={location} stock={stock} showQuantities={false} onLot={takeLot} />
      ) : step !== "qty" ? (
        <>
          <Prompt>{step === "location" ? t("count.scanLocation") : t("count.scanItem")}</Prompt>
          <Field id={`count-${step}`} label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
        </>
      ) : (
        <>
          <Prompt>{attempt > 1 ? t("count.enterRecount") : t("count.enterQty")}</Prompt>
          <Field id={`count-qty-${attempt}`} label={t("field.countedQty")} value={qty} onValue={setQty} onEnter={(value) => void submit(value)} numeric focused selectProposed />
        </>
      )}
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="Escape" label={t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
