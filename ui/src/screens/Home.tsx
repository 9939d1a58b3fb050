// The menu: one number key per workflow.

import { Action } from "../components/Action";
import type { Role } from "../contract";
import { t } from "../i18n";
import { mayOpen } from "../logic/roles";

export const MENU = ["receive", "pick", "move", "count", "lookup", "sync", "scanner", "manager"] as const;
export type MenuEntry = (typeof MENU)[number];

export function Home({ role, onOpen }: { role: Role; onOpen: (entry: MenuEntry) => void }) {
  const entries = MENU.filter((entry) => mayOpen(role, entry));
  return (
    <section class="screen">
      <ol class="menu">
        {entries.map((entry, index) => (
          <li key={entry}>
            <Action keyName={String(index + 1)} label={t(`menu.${entry}`)} tone="primary" onRun={() => onOpen(entry)} />
          </li>
        ))}
      </ol>
    </section>
  );
}
