// Feedback sounds made with the Web Audio API, so no audio files ship: a short high beep
// for success, a low double buzz for an error. A person with a scanner in one hand and a
// box in the other hears whether the scan took without looking at the screen.

export interface Sounds {
  success(): void;
  error(): void;
}

interface Tone {
  frequencyHz: number;
  startS: number;
  durationS: number;
  wave: OscillatorType;
}

const SUCCESS: Tone[] = [{ frequencyHz: 1760, startS: 0, durationS: 0.09, wave: "sine" }];
const ERROR: Tone[] = [
  { frequencyHz: 180, startS: 0, durationS: 0.16, wave: "square" },
  { frequencyHz: 180, startS: 0.22, durationS: 0.16, wave: "square" },
];

/** Sounds through one AudioContext, created on first use; silent where there is no audio. */
export function webAudioSounds(): Sounds {
  let context: AudioContext | undefined;

  function play(tones: Tone[]): void {
    const Context = globalThis.AudioContext;
    if (Context === undefined) return;
    try {
      context ??= new Context();
      void context.resume();
      for (const tone of tones) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        const start = context.currentTime + tone.startS;
        oscillator.type = tone.wave;
        oscillator.frequency.value = tone.frequencyHz;
        // A short ramp at both ends avoids clicks.
        gain.gain.setValueAtTime(0, start);
        gain.gain.linearRampToValueAtTime(0.25, start + 0.01);
        gain.gain.setValueAtTime(0.25, start + tone.durationS - 0.01);
        gain.gain.linearRampToValueAtTime(0, start + tone.durationS);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(start);
        oscillator.stop(start + tone.durationS);
      }
    } catch {
      // No sound is better than a broken screen.
    }
  }

  return { success: () => play(SUCCESS), error: () => play(ERROR) };
}

export const silentSounds: Sounds = { success() {}, error() {} };
