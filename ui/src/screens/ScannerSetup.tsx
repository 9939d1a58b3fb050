// Scanner setup: timing, prefix, suffix, terminator, GS substitutes and the serial port,
// with presets for USB and Bluetooth scanners, and a test barcode that also tells a
// keyboard-layout mismatch apart.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { Barcode } from "../components/Barcode";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { ScannerSettings, Terminator } from "../contract";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { detectLayout, TEST_BARCODE } from "../scanner/layout";
import { BLUETOOTH_PRESET, USB_PRESET } from "../scanner/wedge";
import { Facts } from "./common";

const TERMINATORS: Terminator[] = ["enter", "tab", "none"];

/** The ASCII group separator (FNC1 in GS1 barcodes), invisible as it is. */
const GROUP_SEPARATOR = "\u001d";

/** A scan as text a person can read: the group separator shows as <GS>. */
export function visibleScan(raw: string): string {
  return raw.split(GROUP_SEPARATOR).join(t("scanner.gsToken"));
}

interface Draft {
  maxKeyGapMs: string;
  minLength: string;
  prefix: string;
  suffix: string;
  terminator: Terminator;
  gsSubstitutes: string;
  serialPort: string;
  baud: string;
}

function toDraft(settings: ScannerSettings): Draft {
  return {
    maxKeyGapMs: String(settings.maxKeyGapMs),
    minLength: String(settings.minLength),
    prefix: settings.prefix,
    suffix: settings.suffix,
    terminator: settings.terminator,
    gsSubstitutes: settings.gsSubstitutes.join(" "),
    serialPort: settings.serialPort ?? "",
    baud: settings.baud === undefined ? "" : String(settings.baud),
  };
}

/** The settings a draft stands for, or null when a number is not a number. */
export function fromDraft(draft: Draft): ScannerSettings | null {
  const maxKeyGapMs = Number(draft.maxKeyGapMs);
  const minLength = Number(draft.minLength);
  const baud = draft.baud.trim() === "" ? undefined : Number(draft.baud);
  if (!Number.isInteger(maxKeyGapMs) || maxKeyGapMs < 1 || !Number.isInteger(minLength) || minLength < 1) return null;
  if (baud !== undefined && (!Number.isInteger(baud) || baud < 1)) return null;
  return {
    maxKeyGapMs,
    minLength,
    prefix: draft.prefix,
    suffix: draft.suffix,
    terminator: draft.terminator,
    gsSubstitutes: draft.gsSubstitutes.split(/\s+/).filter((each) => each !== ""),
    serialPort: draft.serialPort.trim() === "" ? undefined : draft.serialPort.trim(),
    baud,
  };
}

export function ScannerSetup({ settings, onSaved, onBack }: { settings: ScannerSettings; onSaved: (settings: ScannerSettings) => void; onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [draft, setDraft] = useState<Draft>(toDraft(settings));
  const [ports, setPorts] = useState<string[]>([]);
  const [lastScan, setLastScan] = useState<string | null>(null);

  useEffect(() => {
    backend.serialPorts().then(setPorts, () => setPorts([]));
  }, []);

  useScan((raw) => {
    setLastScan(raw);
    const verdict = detectLayout(TEST_BARCODE, raw);
    if (verdict === "match") feedback.success(t("scanner.testOk"));
    else feedback.refuse(t(`scanner.layout.${verdict}`), t("scanner.received", { raw: visibleScan(raw) }));
  });

  async function save(): Promise<void> {
    const next = fromDraft(draft);
    if (next === null) {
      feedback.refuse(t("scanner.invalid"));
      return;
    }
    try {
      const saved = await backend.saveScannerSettings(next);
      onSaved(saved);
      setDraft(toDraft(saved));
      feedback.success(t("scanner.saved"));
    } catch (error) {
      feedback.fail(error);
    }
  }

  const set = (name: keyof Draft) => (value: string) => setDraft({ ...draft, [name]: value });
  const preset = (values: { maxKeyGapMs: number; minLength: number }) =>
    setDraft({ ...draft, maxKeyGapMs: String(values.maxKeyGapMs), minLength: String(values.minLength) });
  const nextTerminator = TERMINATORS[(TERMINATORS.indexOf(draft.terminator) + 1) % TERMINATORS.length] ?? "enter";

  return (
    <section class="screen">
      <div class="setup">
        <div>
          <h2>{t("scanner.test")}</h2>
          <Barcode text={TEST_BARCODE} />
          <p class="hint">{t("scanner.testHint")}</p>
          <Facts facts={[{ label: t("scanner.lastScan"), value: lastScan === null ? "" : visibleScan(lastScan) }]} />
          <FeedbackBox message={feedback.message} />
        </div>
        <div>
          <div class="field-row">
            <Field id="scanner-gap" label={t("scanner.maxKeyGapMs")} value={draft.maxKeyGapMs} onValue={set("maxKeyGapMs")} numeric />
            <Field id="scanner-min" label={t("scanner.minLength")} value={draft.minLength} onValue={set("minLength")} numeric />
          </div>
          <div class="field-row">
            <Field id="scanner-prefix" label={t("scanner.prefix")} value={draft.prefix} onValue={set("prefix")} />
            <Field id="scanner-suffix" label={t("scanner.suffix")} value={draft.suffix} onValue={set("suffix")} />
          </div>
          <Field id="scanner-gs" label={t("scanner.gsSubstitutes")} value={draft.gsSubstitutes} onValue={set("gsSubstitutes")} />
          <div class="field-row">
            <label class="field" for="scanner-port">
              <span class="field-label">{t("scanner.serialPort")}</span>
              <select id="scanner-port" class="field-input" value={draft.serialPort} onChange={(event) => set("serialPort")(event.currentTarget.value)}>
                <option value="">{t("scanner.noSerial")}</option>
                {[...new Set([...ports, ...(draft.serialPort === "" ? [] : [draft.serialPort])])].map((port) => (
                  <option key={port} value={port}>{port}</option>
                ))}
              </select>
            </label>
            <Field id="scanner-baud" label={t("scanner.baud")} value={draft.baud} onValue={set("baud")} numeric />
          </div>
          <Facts facts={[{ label: t("scanner.terminator"), value: t(`scanner.terminator.${draft.terminator}`) }]} />
        </div>
      </div>
      <Actions>
        <Action keyName="F2" label={t("scanner.save")} tone="primary" onRun={() => void save()} />
        <Action keyName="F3" label={t("scanner.presetUsb")} onRun={() => preset(USB_PRESET)} />
        <Action keyName="F4" label={t("scanner.presetBluetooth")} onRun={() => preset(BLUETOOTH_PRESET)} />
        <Action keyName="F6" label={t("scanner.cycleTerminator")} onRun={() => setDraft({ ...draft, terminator: nextTerminator })} />
        <Action keyName="Escape" label={t("action.home")} onRun={onBack} />
      </Actions>
    </section>
  );
}
