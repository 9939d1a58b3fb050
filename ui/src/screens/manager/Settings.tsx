// Settings of this profile that a manager changes: for now the idle timeout, after which a
// signed-in user is signed out. The backend keeps and enforces it; this tab reads it from
// there and saves it there.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import { Field } from "../../components/Field";
import { useEnv } from "../../env";
import { t, tn } from "../../i18n";
import { IDLE_MINUTES, parseIdleMinutes } from "../../logic/idle";

export function Settings() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [minutes, setMinutes] = useState("");

  useEffect(() => {
    backend.session(false).then(
      (session) => setMinutes(String(session.idleTimeoutMinutes)),
      (error: unknown) => feedback.fail(error),
    );
  }, []);

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
      <Field id="settings-idle" label={t("settings.idleMinutes")} value={minutes} onValue={setMinutes} onEnter={(value) => void save(value)} numeric />
      <p class="hint">{t("settings.idleHint", IDLE_MINUTES)}</p>
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="F2" label={t("settings.save")} tone="primary" onRun={() => void save(minutes)} />
      </Actions>
    </>
  );
}
