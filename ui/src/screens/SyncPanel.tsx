// Sync: status, pending count, last error (with its time, marked once a later sync got past
// it) and clock offset; "sync now"; a progress bar while a large pull runs.

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

export function SyncPanel({ status, onBack }: { status: SyncStatus | null; onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();

  async function syncNow(): Promise<void> {
    feedback.info(t("sync.started"));
    try {
      await backend.syncNow();
      feedback.success(t("sync.requested"));
    } catch (error) {
      feedback.fail(error);
    }
  }

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
          ]}
        />
      )}
      {progress !== undefined && (
        <div class="progress-block">
          <p>{t("sync.pulling", { done: progress.done, total: progress.total })}</p>
          <progress class="progress" max={100} value={percent(progress.done, progress.total)} />
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
