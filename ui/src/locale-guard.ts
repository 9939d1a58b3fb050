// Imported first by main.tsx. WebKitGTK reports the process locale as the browser's
// language, and on a PC with no locale set that is "C", which `Intl` refuses as a language
// tag; the chart library formats numbers with it as soon as it loads, so the whole UI would
// fail to start. Such a PC gets American English formatting instead.

export function usableLanguage(language: string): boolean {
  try {
    new Intl.NumberFormat(language);
    return true;
  } catch {
    return false;
  }
}

if (typeof navigator !== "undefined" && !usableLanguage(navigator.language)) {
  Object.defineProperty(Object.getPrototypeOf(navigator), "language", {
    configurable: true,
    get: () => "en-US",
  });
}
