// A big labelled text field. It takes the focus when `focused` becomes true, so the field a
// step is waiting for is always the one a person types into; Enter calls `onEnter` with what
// the field holds right now (read from the field, not from state, which may lag a key behind).

import { useLayoutEffect, useRef } from "preact/hooks";

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
}

export function Field(props: FieldProps) {
  const input = useRef<HTMLInputElement>(null);
  // A layout effect, so the field has the focus before the next key can arrive.
  useLayoutEffect(() => {
    if (props.focused === true) input.current?.focus();
  }, [props.focused, props.id]);

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
        onInput={(event) => props.onValue(event.currentTarget.value)}
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
