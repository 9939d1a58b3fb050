// Keyboard shortcuts: Enter, Escape, F-keys and number keys for every action.
//
// Components register a map of key -> action; the newest registration that has a key wins.
// Printable keys (digits, letters) are ignored while the focus is in a text field, so typing a
// quantity never triggers a menu entry. Keys a field already handled (defaultPrevented) are
// left alone.

export type KeyMap = Partial<Record<string, () => void>>;

export interface KeyStack {
  push(map: () => KeyMap): () => void;
  /** Runs the action for `event`, if any; true when one ran. */
  dispatch(event: KeyboardEvent): boolean;
}

export function isTypingTarget(target: EventTarget | null): boolean {
  if (typeof HTMLElement === "undefined" || !(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement ||
    (target instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit"].includes(target.type));
}

export function createKeyStack(): KeyStack {
  const maps: Array<() => KeyMap> = [];
  return {
    push(map) {
      maps.push(map);
      return () => {
        const index = maps.lastIndexOf(map);
        if (index >= 0) maps.splice(index, 1);
      };
    },
    dispatch(event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return false;
      // The focus may have moved to a field during this key (a field takes it back when a
      // key is typed while nothing took text), so the focused element counts as well.
      const focused = typeof document === "undefined" ? null : document.activeElement;
      if ([...event.key].length === 1 && (isTypingTarget(event.target) || isTypingTarget(focused))) return false;
      const key = [...event.key].length === 1 ? event.key.toLowerCase() : event.key;
      for (let index = maps.length - 1; index >= 0; index -= 1) {
        const action = maps[index]?.()[key];
        if (action !== undefined) {
          event.preventDefault();
          action();
          return true;
        }
      }
      return false;
    },
  };
}
