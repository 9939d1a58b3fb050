// The app shell: which screen shows, the header with the online/offline and pending badge
// (on every screen), the keyboard-wedge and serial scan wiring, and following the backend's
// session, which ends after the profile's idle timeout (logic/idle.ts).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";

import { Action } from "./components/Action";
import type { Message } from "./components/Feedback";
import type { AppStatus, ScannerSettings, SyncStatus, User } from "./contract";
import { refreshingAfterRecords } from "./backend";
import { EnvContext, useEnv, type Env } from "./env";
import { errorText } from "./errors";
import { t } from "./i18n";
import { SESSION_CHECK_MS, watchSession } from "./logic/idle";
import { mayOpen } from "./logic/roles";
import { DEFAULT_SCANNER_SETTINGS } from "./scanner/defaults";
import { attachWedge } from "./scanner/keyboard";
import { Count } from "./screens/Count";
import { Enroll } from "./screens/Enroll";
import { Home, type MenuEntry } from "./screens/Home";
import { Lookup } from "./screens/Lookup";
import { Manager } from "./screens/Manager";
import { Move } from "./screens/Move";
import { Pick } from "./screens/Pick";
import { Receive } from "./screens/Receive";
import { ScannerSetup } from "./screens/ScannerSetup";
import { SignIn } from "./screens/SignIn";
import { SyncPanel } from "./screens/SyncPanel";
import { StatusBadge } from "./components/StatusBadge";

const SYNC_POLL_MS = 15_000;
const PROFILE_POLL_MS = 1_000;

export function App({ env, sessionCheckMs = SESSION_CHECK_MS }: { env: Env; sessionCheckMs?: number }) {
  return (
    <EnvContext.Provider value={env}>
      <Shell sessionCheckMs={sessionCheckMs} />
    </EnvContext.Provider>
  );
}

type Screen = MenuEntry | "home" | "profiles";

function Shell({ sessionCheckMs }: { sessionCheckMs: number }) {
  const env = useEnv();
  const { backend, scans, keys } = env;
  // Screens get a backend that refreshes the sync status after every recorded action.
  const screenEnv = useMemo<Env>(
    () => ({ ...env, backend: refreshingAfterRecords(backend, () => void backend.syncStatus().then(setSync, () => {})) }),
    [env],
  );
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [startError, setStartError] = useState<Message | null>(null);
  const [sync, setSync] = useState<SyncStatus | null>(null);
  const [settings, setSettings] = useState<ScannerSettings>(DEFAULT_SCANNER_SETTINGS);
  const [screen, setScreen] = useState<Screen>("home");
  const [signInNotice, setSignInNotice] = useState<Message | null>(null);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const lastActivity = useRef(Date.now());

  async function refresh(): Promise<void> {
    try {
      setStatus(await backend.appStatus());
      setStartError(null);
    } catch (error) {
      const text = errorText(error);
      setStartError({ tone: "error", title: text.title, detail: text.detail });
    }
    backend.syncStatus().then(setSync, () => {});
    backend.scannerSettings().then(setSettings, () => {});
  }

  useEffect(() => {
    void refresh();
    const stopSync = backend.onSyncStatus(setSync);
    const poll = setInterval(() => backend.syncStatus().then(setSync, () => {}), SYNC_POLL_MS);
    const stopSerial = backend.onScan((raw) => {
      lastActivity.current = Date.now();
      scans.publish(raw);
    });
    const stopWedge = attachWedge(window, {
      settings: () => settingsRef.current,
      onScan: (raw) => {
        lastActivity.current = Date.now();
        scans.publish(raw);
      },
    });
    const onKey = (event: KeyboardEvent) => {
      lastActivity.current = Date.now();
      keys.dispatch(event);
    };
    const onPointer = () => {
      lastActivity.current = Date.now();
    };
    window.addEventListener("keydown", onKey);
    window.addEventListener("pointerdown", onPointer);
    return () => {
      stopSync();
      clearInterval(poll);
      stopSerial();
      stopWedge();
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("pointerdown", onPointer);
    };
  }, []);

  const user = status?.user ?? null;

  // Demo mode (`--demo`) enrolls this PC in the background while the window opens, so the
  // first status may have no profile yet. Until one appears, look again now and then, so the
  // sign-in screen comes up by itself instead of leaving a newcomer on enrollment.
  const noProfile = status !== null && status.profile === null;
  useEffect(() => {
    if (!noProfile) return;
    const timer = setInterval(() => {
      backend.appStatus().then((next) => {
        if (next.profile !== null) void refresh();
      }, () => {});
    }, PROFILE_POLL_MS);
    return () => clearInterval(timer);
  }, [noProfile]);

  async function signOut(notice: Message | null): Promise<void> {
    try {
      await backend.signOut();
    } catch {
      // Signed out locally either way; the backend forgets the session on its own restart.
    }
    setSignInNotice(notice);
    setScreen("home");
    setStatus((current) => (current === null ? null : { ...current, user: null }));
  }

  useEffect(() => {
    if (user === null) return;
    return watchSession(
      {
        check: (activity) => backend.session(activity),
        lastActivityMs: () => lastActivity.current,
        nowMs: () => Date.now(),
        onEnded: () => void signOut({ tone: "info", title: t("signIn.idleSignedOut") }),
      },
      sessionCheckMs,
    );
  }, [user?.id, sessionCheckMs]);

  function signedIn(next: User): void {
    setSignInNotice(null);
    setStatus((current) => (current === null ? null : { ...current, user: next }));
    setScreen("home");
  }

  const home = () => setScreen("home");
  let body;
  let title = "";
  if (status === null) {
    body = startError === null ? <p class="hint">{t("app.starting")}</p> : <StartError message={startError} onRetry={() => void refresh()} />;
  } else if (status.profile === null || screen === "profiles") {
    title = t("screen.enroll");
    body = (
      <Enroll
        onEnrolled={() => {
          setScreen("home");
          void refresh();
        }}
        onCancel={status.profile === null ? undefined : home}
        demoAvailable={status.demoAvailable}
      />
    );
  } else if (user === null) {
    title = t("screen.signIn");
    body = <SignIn onSignedIn={signedIn} onProfiles={() => setScreen("profiles")} notice={signInNotice} demoUsers={status.demoUsers ?? []} />;
  } else {
    const shown = mayOpen(user.role, screen) ? screen : "home";
    title = t(`screen.${shown}`);
    body = {
      home: <Home role={user.role} onOpen={setScreen} />,
      receive: <Receive onBack={home} />,
      pick: <Pick onBack={home} />,
      move: <Move onBack={home} />,
      count: <Count onBack={home} />,
      lookup: <Lookup role={user.role} onBack={home} />,
      sync: <SyncPanel status={sync} onBack={home} />,
      scanner: <ScannerSetup settings={settings} onSaved={setSettings} onBack={home} />,
      manager: <Manager onBack={home} />,
    }[shown];
  }

  return (
    <div class="app">
      <header class="top-bar">
        <span class="brand">{t("app.name")}</span>
        <h1 class="screen-title" data-testid="screen-title">{title}</h1>
        {user !== null && <span class="user">{t("app.user", { name: user.name, role: t(`role.${user.role}`) })}</span>}
        <StatusBadge status={sync} demo={status?.demo === true} />
      </header>
      <main class="content">
        <EnvContext.Provider value={screenEnv}>{body}</EnvContext.Provider>
      </main>
      {user !== null && (
        <footer class="bottom-bar">
          <Action keyName="F10" label={t("screen.sync")} onRun={() => setScreen("sync")} />
          <Action keyName="F9" label={t("action.signOut")} onRun={() => void signOut(null)} />
        </footer>
      )}
    </div>
  );
}

function StartError({ message, onRetry }: { message: Message; onRetry: () => void }) {
  return (
    <section class="screen narrow">
      <div class="feedback feedback-error" role="alert">
        <p class="feedback-title">{message.title}</p>
        {message.detail !== undefined && message.detail !== "" && <p class="feedback-detail">{message.detail}</p>}
      </div>
      <Action keyName="Enter" label={t("action.retry")} tone="primary" onRun={onRetry} />
    </section>
  );
}
