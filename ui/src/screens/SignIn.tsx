// Sign in: scan a badge (or type it), then enter the PIN. A wrong badge or PIN is said the
// same way for both, as the backend does. In demo mode the demo users are listed with their
// PINs, each on a big button that fills in the badge, so a newcomer can sign in unaided.

import { useState } from "preact/hooks";

import { toCommandError } from "../backend";
import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback, type Message } from "../components/Feedback";
import { Field } from "../components/Field";
import type { DemoUser, User } from "../contract";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { isRole } from "../logic/roles";
import { Prompt } from "./common";

interface SignInProps {
  onSignedIn: (user: User) => void;
  onProfiles: () => void;
  /** Said once when the screen opens, e.g. that the last user was signed out for being idle. */
  notice?: Message | null;
  /** The demo users, in demo mode only (empty otherwise). */
  demoUsers?: DemoUser[];
}

/** The key of the n-th demo user's button (F6, F7, ...): digits would clash with typing a badge. */
export function demoUserKey(index: number): string {
  return `F${6 + index}`;
}

function roleText(role: string): string {
  return isRole(role) ? t(`role.${role}`) : role;
}

export function SignIn({ onSignedIn, onProfiles, notice = null, demoUsers = [] }: SignInProps) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [badge, setBadge] = useState("");
  const [pin, setPin] = useState("");
  const [step, setStep] = useState<"badge" | "pin">("badge");

  async function takeBadge(raw: string): Promise<void> {
    const trimmed = raw.trim();
    if (trimmed === "") return;
    let scanned = trimmed;
    try {
      const resolved = await backend.resolveScan(trimmed);
      if (resolved.kind !== "badge") {
        feedback.refuse(t("signIn.notABadge"));
        setBadge("");
        return;
      }
      scanned = resolved.badge;
    } catch (error) {
      // A badge typed by hand may be no barcode the parser knows: let sign_in judge it.
      const code = toCommandError(error).code;
      if (code !== "bad_scan" && code !== "unknown_barcode" && code !== "not_signed_in") {
        feedback.fail(error);
        return;
      }
    }
    setBadge(scanned);
    setPin("");
    setStep("pin");
    feedback.clear();
  }
  useScan((raw) => void takeBadge(raw));

  function chooseDemoUser(user: DemoUser): void {
    setBadge(user.badge);
    setPin("");
    setStep("pin");
    feedback.clear();
  }

  async function signIn(enteredPin: string): Promise<void> {
    try {
      const user = await backend.signIn(badge, enteredPin);
      onSignedIn(user);
    } catch (error) {
      setPin("");
      if (toCommandError(error).is("bad_pin")) {
        // One sentence: the backend's detail says the same again in lower case.
        feedback.refuse(t("error.bad_pin"));
        setBadge("");
        setStep("badge");
      } else if (toCommandError(error).is("badge_locked") || toCommandError(error).is("pin_too_short")) {
        // The title says what happened; the backend's sentence says for how long, or what
        // to do. Back to the badge step: this badge cannot sign in now.
        feedback.fail(error);
        setBadge("");
        setStep("badge");
      } else feedback.fail(error);
    }
  }

  /** Back to the badge step with no badge kept, so the next scan is read on its own. */
  function backToBadge(): void {
    setBadge("");
    setPin("");
    setStep("badge");
    feedback.clear();
  }

  return (
    <section class="screen narrow">
      {step === "badge" ? (
        <>
          <Prompt>{t("signIn.scanBadge")}</Prompt>
          <Field id="signin-badge" label={t("field.badge")} value={badge} onValue={setBadge} onEnter={(value) => void takeBadge(value)} focused />
        </>
      ) : (
        <>
          <Prompt>{t("signIn.enterPin", { badge })}</Prompt>
          <Field id="signin-pin" label={t("field.pin")} type="password" value={pin} onValue={setPin} onEnter={(value) => void signIn(value)} numeric focused />
        </>
      )}
      <FeedbackBox message={feedback.message ?? notice} />
      {demoUsers.length > 0 && (
        <div class="demo-users" data-testid="demo-users">
          <p class="hint">{t("signIn.demoUsers")}</p>
          <ul class="choices">
            {demoUsers.map((user, index) => (
              <li key={user.badge}>
                <Action
                  keyName={demoUserKey(index)}
                  label={t("signIn.demoUser", { name: user.name, role: roleText(user.role), badge: user.badge, pin: user.pin })}
                  onRun={() => chooseDemoUser(user)}
                />
              </li>
            ))}
          </ul>
        </div>
      )}
      <Actions>
        {step === "pin" && <Action keyName="Escape" label={t("action.back")} onRun={backToBadge} />}
        <Action keyName="F3" label={t("signIn.profiles")} onRun={onProfiles} />
      </Actions>
    </section>
  );
}
