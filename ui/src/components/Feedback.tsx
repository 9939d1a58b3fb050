// The message under a step: what just happened, with the matching sound.

import { useState } from "preact/hooks";

import { useEnv } from "../env";
import { errorText } from "../errors";

export interface Message {
  tone: "ok" | "error" | "info";
  title: string;
  detail?: string;
  lines?: string[];
}

export interface Feedback {
  message: Message | null;
  success(title: string, lines?: string[]): void;
  /** A refusal the screen decided on itself (a wrong scan), with what it expected. */
  refuse(title: string, detail?: string): void;
  /** A failed command. */
  fail(error: unknown): void;
  info(title: string): void;
  clear(): void;
}

export function useFeedback(): Feedback {
  const { sounds } = useEnv();
  const [message, setMessage] = useState<Message | null>(null);
  return {
    message,
    success(title, lines) {
      sounds.success();
      setMessage({ tone: "ok", title, lines });
    },
    refuse(title, detail) {
      sounds.error();
      setMessage({ tone: "error", title, detail });
    },
    fail(error) {
      sounds.error();
      const text = errorText(error);
      setMessage({ tone: "error", title: text.title, detail: text.detail });
    },
    info(title) {
      setMessage({ tone: "info", title });
    },
    clear() {
      setMessage(null);
    },
  };
}

export function FeedbackBox({ message }: { message: Message | null }) {
  if (message === null) return null;
  return (
    <div class={`feedback feedback-${message.tone}`} data-testid="feedback" data-tone={message.tone} role={message.tone === "error" ? "alert" : "status"}>
      <p class="feedback-title">{message.title}</p>
      {message.detail !== undefined && message.detail !== "" && <p class="feedback-detail">{message.detail}</p>}
      {message.lines?.map((line) => <p class="feedback-detail" key={line}>{line}</p>)}
    </div>
  );
}
