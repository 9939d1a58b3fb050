// Sync: status, pending count, last error (with its time, marked once a later sync got past
// it) and clock offset; "sync now"; a progress bar while a large pull runs.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import type { SyncStatus } from "../contract";
import { useEnv } from "../env";
import { t } from "../i18n";
import { formatOffsetSeconds, formatTime, percent } from "../logic/format";
import { lastError } from "../logic/sync";
import { Facts, type Fact } from "./common";

function lastErrorFact(status: SyncStatus): Fact {
  const label = t("sync.lastError");
  const error = lastError(status);
  if (error.kind === "none") return { label, value: t("sync.none") };
  if (error.kind === "past") return { label, value: t("sync.errorPast", { message: error.message, time: formatTime(error.atMs) }), tone: "past" };
  const value = error.atMs === undefined ? error.message : t("sync.errorAt", { message: error.message, time: formatTime(error.atMs) });
  return { label, value, tone: "error" };
}

/** When the server sent events this version cannot read: which version reads them. */
function updateFacts(status: SyncStatus): Fact[] {
  if (status.needsUpdate === undefined) return [];
  return [{ label: t("sync.update"), value: t("sync.needsUpdate", { version: status.needsUpdate }), tone: "error" }];
}

/** How often the panel asks for the status while the round it started runs. */
const ROUND_POLL_MS = 1_000;
/** How long it waits for that round before it stops watching. */
const ROUND_WAIT_MS = 120_000;

/** What the status said before "Sync now": a round has ended once either time moves on. */
interface RoundStart {
  lastSuccessMs?: number;
  lastErrorMs?: number;
  lastError?: string;
}

/** How the round that began after `start` ended, by the status now; null while it runs. */
export function roundOutcome(start: RoundStart, now: SyncStatus): { ok: true } | { ok: false; message: string } | null {
  const errorMoved =
    now.lastErrorMs !== undefined ? now.lastErrorMs !== start.lastErrorMs : now.lastError !== undefined && now.lastError !== start.lastError;
  const successMoved = now.lastSuccessMs !== undefined && now.lastSuccessMs !== start.lastSuccessMs;
  const successAfterError = successMoved && (now.lastErrorMs === undefined || now.lastSuccessMs! > now.lastErrorMs);
  if (errorMoved && !successAfterError) return { ok: false, message: now.lastError ?? "" };
  if (successMoved) return { ok: true };
  return null;
}

export function SyncPanel({ status, onBack, pollMs = ROUND_POLL_MS }: { status: SyncStatus | null; onBack: () => void; pollMs?: number }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [round, setRound] = useState<RoundStart | null>(null);

  async function syncNow(): Promise<void> {
    feedback.info(t("sync.started"));
    const start: RoundStart = { lastSuccessMs: status?.lastSuccessMs, lastErrorMs: status?.lastErrorMs, lastError: status?.lastError };
    try {
      await backend.syncNow();
      setRound(start);
    } catch (error) {
      feedback.fail(error);
    }
  }

  // Watch the round this panel started until it ended, and say how.
  useEffect(() => {
    if (round === null) return;
    const startedAt = Date.now();
    let stopped = false;
    const check = (now: SyncStatus) => {
      if (stopped) return;
      const outcome = roundOutcome(round, now);
      if (outcome === null) return;
      stopped = true;
      setRound(null);
      if (outcome.ok) feedback.success(t("sync.done"));
      else feedback.refuse(t("sync.failed"), outcome.message);
    };
    if (status !== null) check(status);
    const timer = setInterval(() => {
      if (Date.now() - startedAt > ROUND_WAIT_MS) {
        stopped = true;
        setRound(null);
        clearInterval(timer);
        return;
      }
      backend.syncStatus().then(check, () => {});
    }, pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [round, status]);

  const progress = status?.progress;
  return (
    <section class="screen">
      {status === null ? (
        <p class="hint">{t("sync.unknown")}</p>
      ) : (
        <Facts
          facts={[
            { label: t("sync.state"), value: status.online ? t("badge.online") : t("badge.offline") },
            { label: t("sync.pending"), value: String(status.pending) },
            { label: t("sync.quarantined"), value: String(status.quarantined) },
            { label: t("sync.lastSuccess"), value: status.lastSuccessMs === undefined ? t("sync.never") : formatTime(status.lastSuccessMs) },
            lastErrorFact(status),
            {
              label: t("sync.clockOffset"),
              value: status.clockOffsetMs === undefined ? t("sync.unknownValue") : t("sync.seconds", { s: formatOffsetSeconds(status.clockOffsetMs) }),
            },
            ...updateFacts(status),
          ]}
        />
      )}
      {progress !== undefined && (
        <div class="progress-block">
          {/* The total is unknown until the server says it: "of ?" and an empty bar, not "of undefined". */}
          <p>{t("sync.pulling", { done: progress.done, total: progress.total ?? "?" })}</p>
          <progress class="progress" max={100} value={percent(progress.done, progress.total ?? 0)} />
        </div>
      )}
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="Enter" label={t("sync.now")} tone="primary" onRun={() => void syncNow()} />
        <Action keyName="Escape" label={t("action.home")} onRun={onBack} />
      </Actions>
    </section>
  );
}
