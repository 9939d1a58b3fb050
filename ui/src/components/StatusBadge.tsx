// The online/offline and pending badge shown in the header of every screen.

import type { SyncStatus } from "../contract";
import { t } from "../i18n";

export function StatusBadge({ status, demo }: { status: SyncStatus | null; demo: boolean }) {
  const online = status?.online === true;
  return (
    <div class="badge" role="status" aria-live="polite">
      {demo && <span class="badge-part badge-demo">{t("badge.demo")}</span>}
      <span class={`badge-part ${online ? "badge-online" : "badge-offline"}`} data-testid="sync-state">
        {status === null ? t("badge.unknown") : online ? t("badge.online") : t("badge.offline")}
      </span>
      <span class={`badge-part ${status !== null && status.pending > 0 ? "badge-pending" : ""}`} data-testid="sync-pending" data-pending={status?.pending ?? 0}>
        {t("badge.pending", { n: status?.pending ?? 0 })}
      </span>
      {status !== null && status.quarantined > 0 && (
        <span class="badge-part badge-offline">{t("badge.quarantined", { n: status.quarantined })}</span>
      )}
    </div>
  );
}
