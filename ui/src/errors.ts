// Turns a failure into words for the floor. Branches on the error's code only; the backend's
// message is shown underneath as detail (it says what and where), never interpreted.

import { toCommandError } from "./backend";
import { ERROR_CODES } from "./contract";
import { UI_ERROR_CODES, type KnownErrorCode } from "./contract-extra";
import { t } from "./i18n";

export interface ErrorText {
  code: string;
  title: string;
  detail: string;
}

const KNOWN_CODES: readonly string[] = [...ERROR_CODES, ...UI_ERROR_CODES];

export function isKnownCode(code: string): code is KnownErrorCode {
  return KNOWN_CODES.includes(code);
}

export function errorText(error: unknown): ErrorText {
  const commandError = toCommandError(error);
  const title = isKnownCode(commandError.code)
    ? t(`error.${commandError.code}`)
    : t("error.other", { code: commandError.code });
  const detail = commandError.message === commandError.code ? "" : commandError.message;
  return { code: commandError.code, title, detail };
}
