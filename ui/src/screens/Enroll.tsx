// Enroll this PC with a server URL and an enrollment code, switch to a profile enrolled
// before, or start the demo (when the build has demo mode). Enter moves to the next empty
// field and enrolls from the last.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Profile } from "../contract";
import { useEnv } from "../env";
import { t } from "../i18n";
import { Prompt } from "./common";

const FIELDS = ["serverUrl", "code", "deviceName"] as const;
type FieldName = (typeof FIELDS)[number];

export function Enroll({
  onEnrolled,
  onCancel,
  demoAvailable,
}: {
  onEnrolled: (profile: Profile) => void;
  onCancel?: () => void;
  /** Whether this build has demo mode; without it the demo is not offered. */
  demoAvailable: boolean;
}) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [values, setValues] = useState<Record<FieldName, string>>({ serverUrl: "", code: "", deviceName: "" });
  const [allowHttp, setAllowHttp] = useState(false);
  const [focusedField, setFocusedField] = useState<FieldName>("serverUrl");
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    backend.listProfiles().then(setProfiles, () => setProfiles([]));
  }, []);

  async function run(work: () => Promise<Profile>): Promise<void> {
    if (busy) return;
    setBusy(true);
    feedback.info(t("enroll.working"));
    try {
      onEnrolled(await work());
    } catch (error) {
      feedback.fail(error);
    } finally {
      setBusy(false);
    }
  }

  function enroll(): void {
    const empty = FIELDS.find((name) => values[name].trim() === "");
    if (empty !== undefined) {
      setFocusedField(empty);
      feedback.refuse(t("enroll.missing", { field: t(`enroll.${empty}`) }));
      return;
    }
    void run(() =>
      backend.enroll({
        serverUrl: values.serverUrl.trim(),
        code: values.code.trim(),
        deviceName: values.deviceName.trim(),
        allowHttp: allowHttp ? true : undefined,
      }),
    );
  }

  function onEnter(name: FieldName): void {
    const nextEmpty = FIELDS.find((other) => other !== name && values[other].trim() === "");
    if (nextEmpty !== undefined && values[name].trim() !== "") setFocusedField(nextEmpty);
    else enroll();
  }

  return (
    <section class="screen narrow">
      <Prompt>{t(demoAvailable ? "enroll.title" : "enroll.titleNoDemo")}</Prompt>
      {FIELDS.map((name) => (
        <Field
          key={name}
          id={`enroll-${name}`}
          label={t(`enroll.${name}`)}
          value={values[name]}
          onValue={(value) => setValues({ ...values, [name]: value })}
          onEnter={() => onEnter(name)}
          focused={focusedField === name}
        />
      ))}
      <label class="check">
        <input type="checkbox" checked={allowHttp} onChange={(event) => setAllowHttp(event.currentTarget.checked)} />
        <span>{t("enroll.allowHttp")}</span>
      </label>
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="F2" label={t("enroll.submit")} tone="primary" disabled={busy} onRun={enroll} />
        {demoAvailable && <Action keyName="F3" label={t("enroll.demo")} disabled={busy} onRun={() => void run(() => backend.startDemo())} />}
        <Action keyName="F4" label={t("enroll.allowHttpToggle")} onRun={() => setAllowHttp(!allowHttp)} />
        {onCancel !== undefined && <Action keyName="Escape" label={t("action.back")} onRun={onCancel} />}
      </Actions>
      {profiles.length > 0 && (
        <>
          <h2>{t("enroll.profiles")}</h2>
          <ol class="choices">
            {profiles.slice(0, 3).map((profile, index) => (
              <li key={profile.id}>
                <Action
                  keyName={`F${index + 6}`}
                  label={t("enroll.profileLabel", { label: profile.label, warehouse: profile.warehouse, serverUrl: profile.serverUrl })}
                  disabled={busy}
                  onRun={() => void run(() => backend.switchProfile(profile.id))}
                />
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
