// Settings of this profile that a manager changes: the idle timeout, after which a signed-in
// user is signed out (the backend keeps and enforces it), and updates from the warehouse's
// server: looked for when the tab opens, downloaded (kept only if its signature checks out)
// and installed when the manager says so. Nothing restarts the app on its own, so a pick or
// a count is never cut short, and the backend refuses to install while events wait to be
// sent.

import { useEffect, useState } from "preact/hooks";

import type { UpdateStatus } from "../../contract";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import { Field } from "../../components/Field";
import { useEnv } from "../../env";
import { t, tn } from "../../i18n";
import { IDLE_MINUTES, parseIdleMinutes } from "../../logic/idle";
import { Scroll } from "../common";

export function Settings() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [minutes, setMinutes] = useState("");
  const [update, setUpdate] = useState<UpdateStatus | null>(null);

  useEffect(() => {
    backend.session(false).then(
      (session) => setMinutes(String(session.idleTimeoutMinutes)),
      (error: unknown) => feedback.fail(error),
    );
    // What the PC knows first (a downloaded update shows offline too), then the server's
    // answer; quietly: a PC without an updater key or off the network keeps its settings.
    backend
      .updateStatus()
      .then(setUpdate, () => {})
      .then(() => backend.checkUpdate())
      .then(setUpdate, () => {});
  }, []);

  async function updateStep(step: () => Promise<UpdateStatus>): Promise<void> {
    try {
      setUpdate(await step());
      feedback.clear();
    } catch (error) {
      feedback.fail(error);
    }
  }

  async function install(): Promise<void> {
    try {
      await backend.installUpdate();
    } catch (error) {
      feedback.fail(error);
    }
  }

  async function save(text: string): Promise<void> {
    const parsed = parseIdleMinutes(text);
    if (parsed === null) {
      feedback.refuse(t("settings.idleInvalid", IDLE_MINUTES));
      return;
    }
    try {
      const session = await backend.setIdleTimeout(parsed);
      setMinutes(String(session.idleTimeoutMinutes));
      feedback.success(tn("settings.idleSaved", session.idleTimeoutMinutes, { minutes: session.idleTimeoutMinutes }));
    } catch (error) {
      feedback.fail(error);
    }
  }

  return (
    <>
      {/* The settings scroll; the message and the keys stay in view, even at 640x480. */}
      <Scroll>
        {/* An offered update first: it is what a manager opens this tab for, on a small screen too. */}
        {update !== null && <h3>{t("settings.updates")}</h3>}
        <UpdateLines update={update} />
        <Field id="settings-idle" label={t("settings.idleMinutes")} value={minutes} onValue={setMinutes} onEnter={(value) => void save(value)} numeric />
        <p class="hint">{t("settings.idleHint", IDLE_MINUTES)}</p>
      </Scroll>
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="F2" label={t("settings.save")} tone="primary" onRun={() => void save(minutes)} />
        <Action keyName="F3" label={t("settings.checkUpdate")} onRun={() => void updateStep(backend.checkUpdate)} />
        {canDownload(update) && <Action keyName="F4" label={t("settings.downloadUpdate")} onRun={() => void updateStep(backend.downloadUpdate)} />}
        {update?.ready === true && <Action keyName="F5" label={t("settings.installUpdate")} onRun={() => void install()} />}
      </Actions>
    </>
  );
}

function canDownload(update: UpdateStatus | null): boolean {
  return update !== null && update.available !== undefined && !update.ready;
}

/** The version this PC runs and what the server offers it. */
function UpdateLines({ update }: { update: UpdateStatus | null }) {
  if (update === null) return null;
  const offered = update.available;
  return (
    <>
      <p>{t("settings.version", { version: update.current })}</p>
      {offered === undefined ? (
        <p class="hint">{t("settings.noUpdate")}</p>
      ) : (
        <p class="update-available">
          <strong>{t("settings.updateAvailable", { version: offered })}</strong>
          {update.notes !== undefined && ` · ${update.notes}`}
        </p>
      )}
      {update.ready && offered !== undefined && <p>{t("settings.updateReady", { version: offered })}</p>}
    </>
  );
}

