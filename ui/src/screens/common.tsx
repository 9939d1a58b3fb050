// Pieces every floor screen uses: the big prompt, the facts gathered so far, and resolving a
// scan with the failure reported.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

import type { Backend } from "../backend";
import type { Resolved, SyncStatus } from "../contract";
import type { Feedback } from "../components/Feedback";
import { useEnv } from "../env";

/** Resolves `raw`; on failure reports it (with the error sound) and answers null. */
export async function resolveOrReport(backend: Backend, feedback: Feedback, raw: string): Promise<Resolved | null> {
  const trimmed = raw.trim();
  if (trimmed === "") return null;
  try {
    return await backend.resolveScan(trimmed);
  } catch (error) {
    feedback.fail(error);
    return null;
  }
}

export function Prompt({ children }: { children: ComponentChildren }) {
  return <p class="prompt">{children}</p>;
}

/**
 * The part of a screen that scrolls: its tables and long lists. Everything outside it (the
 * facts, the prompt, the scan field, the last message, the actions) stays in view at
 * 640 x 480; see `.screen > .scroll` in style.css.
 */
export function Scroll({ children }: { children: ComponentChildren }) {
  return <div class="scroll">{children}</div>;
}

export interface Fact {
  label: string;
  value: string;
  /** `error` for something wrong now, `past` for something that no longer holds. */
  tone?: "error" | "past";
}

export function Facts({ facts }: { facts: Fact[] }) {
  if (facts.length === 0) return null;
  return (
    <dl class="facts">
      {facts.map((fact) => (
        <div class={fact.tone === undefined ? "fact" : `fact fact-${fact.tone}`} key={fact.label} data-tone={fact.tone}>
          <dt>{fact.label}</dt>
          <dd>{fact.value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Calls `reread` whenever the sync engine has pulled events that were new here (its
 * `pulledNew` moved) or master data that changed the store (`masterChanged`: a new pick
 * list from the ERP, the name of a PC enrolled since), so a screen shows another PC's or the ERP's work as it lands instead
 * of when the picker next opens it. The first status after mounting is compared with the
 * one read at mount; when that read has not answered yet, the screen reads again, since a
 * read too many costs little and one too few leaves a stale list on screen.
 */
export function useRereadOnPull(reread: () => void): void {
  const { backend } = useEnv();
  const rereadRef = useRef(reread);
  rereadRef.current = reread;
  useEffect(() => {
    // Both counters only grow, so their sum moves whenever either does.
    const pulled = (status: SyncStatus) => status.pulledNew + status.masterChanged;
    let seen: number | undefined;
    backend.syncStatus().then(
      (status) => {
        seen ??= pulled(status);
      },
      () => {},
    );
    return backend.onSyncStatus((status) => {
      const moved = seen === undefined || pulled(status) !== seen;
      seen = pulled(status);
      if (moved) rereadRef.current();
    });
  }, [backend]);
}
