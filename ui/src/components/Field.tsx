// A big labelled text field. It takes the focus when `focused` becomes true, so the field a
// step is waiting for is always the one a person types into; Enter calls `onEnter` with what
// the field holds right now (read from the field, not from state, which may lag a key behind).
//
// A `focused` field also takes the focus back after a click anywhere that is not another
// field (a stray tap with a glove), and when a key is typed while nothing that takes text
// has the focus, so typing never goes nowhere. A field that is not `focused` may still take
// the keys `takesKey` accepts (a lot field next to a list chosen by number keys takes the
// letters, and leaves the digits to the list). A `selectProposed` field selects a value the
// screen proposed (not one typed), so typing `2` over a proposed `4` gives `2`.

import { useEffect, useLayoutEffect, useRef } from "preact/hooks";

import { isTypingTarget } from "../keys";

interface FieldProps {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  onEnter?: (value: string) => void;
  focused?: boolean;
  type?: "text" | "password";
  numeric?: boolean;
  placeholder?: string;
  /** Select the value whenever the screen (not the person) put it there. */
  selectProposed?: boolean;
  /** Without `focused`: the typed keys that move the focus here, so they land in the field. */
  takesKey?: (key: string) => boolean;
}

/** Whether a click on `target` leaves the focus where the click put it (on a field). */
function keepsFocus(target: EventTarget | null): boolean {
  if (isTypingTarget(target)) return true;
  // A label moves the focus to its own field; a select opens its list.
  return target instanceof Element && target.closest("label, select, textarea") !== null;
}

export function Field(props: FieldProps) {
  const input = useRef<HTMLInputElement>(null);
  /** The value as last typed into the field; any other value was proposed by the screen. */
  const typed = useRef<string | null>(null);
  // A layout effect, so the field has the focus before the next key can arrive.
  useLayoutEffect(() => {
    if (props.focused === true) input.current?.focus();
  }, [props.focused, props.id]);
  useLayoutEffect(() => {
    const field = input.current;
    if (props.selectProposed !== true || field === null || props.value === typed.current) return;
    if (field.ownerDocument.activeElement === field) field.select();
  }, [props.value, props.focused, props.id, props.selectProposed]);

  const takesKey = useRef(props.takesKey);
  takesKey.current = props.takesKey;
  const takesKeys = props.takesKey !== undefined;

  useEffect(() => {
    if (props.focused !== true && !takesKeys) return;
    const focused = props.focused === true;
    const doc = input.current?.ownerDocument;
    if (doc === undefined) return;
    const refocus = () => {
      const field = input.current;
      if (field !== null && field.isConnected && !isTypingTarget(doc.activeElement)) field.focus();
    };
    const onClick = (event: MouseEvent) => {
      if (focused && !keepsFocus(event.target)) refocus();
    };
    const onKey = (event: KeyboardEvent) => {
      if ([...event.key].length !== 1 || event.ctrlKey || event.metaKey || event.altKey) return;
      if (focused || takesKey.current?.(event.key) === true) refocus();
    };
    doc.addEventListener("click", onClick);
    doc.addEventListener("keydown", onKey, true);
    return () => {
      doc.removeEventListener("click", onClick);
      doc.removeEventListener("keydown", onKey, true);
    };
  }, [props.focused, props.id, takesKeys]);

  return (
    <label class="field" for={props.id}>
      <span class="field-label">{props.label}</span>
      <input
        ref={input}
        id={props.id}
        class="field-input"
        // Preact types "text" and "password" inputs apart; both take the same attributes here.
        type={(props.type ?? "text") as "text"}
        inputMode={props.numeric === true ? "numeric" : undefined}
        autoComplete="off"
        spellcheck={false}
        placeholder={props.placeholder}
        value={props.value}
        onFocus={(event) => {
          if (props.selectProposed === true && event.currentTarget.value !== typed.current) event.currentTarget.select();
        }}
        onInput={(event) => {
          typed.current = event.currentTarget.value;
          props.onValue(event.currentTarget.value);
        }}
        onKeyDown={(event) => {
          if (event.key === "Enter" && props.onEnter !== undefined) {
            event.preventDefault();
            props.onEnter(event.currentTarget.value);
          }
        }}
      />
    </label>
  );
}
