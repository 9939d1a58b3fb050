// Turns a failure into words for the floor. Branches on the error's code only; the backend's
// message is shown underneath as detail (it says what and where), never interpreted.

import { toCommandError } from "./backend";
import { ERROR_CODES, type ErrorCode } from "./contract";
import { t } from "./i18n";

export interface ErrorText {
  code: string;
  title: string;
  detail: string;
}

export function isKnownCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

export function errorText(error: unknown): ErrorText {
  const commandError = toCommandError(error);
  const title = isKnownCode(commandError.code)
    ? t(`error.${commandError.code}`)
    : t("error.other", { code: commandError.code });
  const detail = commandError.message === commandError.code ? "" : commandError.message;
  return { code: commandError.code, title, detail };
}
