// A big button that also answers to a key (Enter, Escape, an F-key or a digit), shown on it.
// Its test id is `action-` and the key name (`action-F2`, `action-1`), unique on a screen
// since a key runs one action; the end-to-end test (tests/e2e) clicks buttons by it.

import type { ComponentChildren } from "preact";

import { useKeys } from "../env";

interface ActionProps {
  keyName: string;
  label: string;
  onRun: () => void;
  tone?: "primary" | "danger" | "plain";
  disabled?: boolean;
}

/** How a key is written on a button. */
function keyCap(keyName: string): string {
  return keyName.length === 1 ? keyName.toUpperCase() : keyName === "Escape" ? "Esc" : keyName;
}

export function Action({ keyName, label, onRun, tone = "plain", disabled = false }: ActionProps) {
  const key = keyName.length === 1 ? keyName.toLowerCase() : keyName;
  useKeys(disabled ? {} : { [key]: onRun });
  return (
    <button type="button" class={`action action-${tone}`} data-testid={`action-${keyName}`} disabled={disabled} onClick={onRun}>
      <kbd class="key-cap">{keyCap(keyName)}</kbd>
      <span>{label}</span>
    </button>
  );
}

export function Actions({ children }: { children: ComponentChildren }) {
  return <div class="actions">{children}</div>;
}
