// The in-page half of the scan-to-screen benchmark (benches/scan_latency.rs), installed
// once into the app's page over WebDriver. It plays a keyboard-wedge scanner: untrusted
// `keydown`/`keyup` events dispatched to the focused element, spaced as a USB scanner
// spaces its keys, so they go through the app's own wedge listener (capture phase on the
// window), the scan bus, the screen, Tauri's IPC to the real Rust command, and the render.
// It then waits for the result in the DOM (a MutationObserver) and for the frame that
// shows it (requestAnimationFrame, then one more task: the rendering update that paints
// the frame runs in between). Times are `performance.now()` in the page; the Rust side
// turns them into latencies.
//
// What this does not cover: the OS input layer (X server, GTK, WebKit's UI process and its
// IPC to the web process, which a real key crosses before it is a DOM event), and getting
// the painted frame from the web process onto the screen.

(() => {
  if (window.__aisleBench !== undefined) return true;

  // Tasks posted through a MessageChannel run as soon as the event loop is free, without
  // the 4 ms clamp that nested setTimeout calls get, so keys can be 1-2 ms apart.
  const channel = new MessageChannel();
  const waiting = [];
  channel.port1.onmessage = () => {
    const resolve = waiting.shift();
    if (resolve !== undefined) resolve();
  };
  function nextTask() {
    return new Promise((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
  }

  function press(target, key) {
    const init = { key, bubbles: true, cancelable: true, composed: true };
    target.dispatchEvent(new KeyboardEvent("keydown", init));
    target.dispatchEvent(new KeyboardEvent("keyup", init));
  }

  // Dispatches `keys` to `targetOf()`, key n due `n * gapMs` after the first, each in a
  // task of its own (as real key events arrive), yielding to the page in between.
  async function burst(targetOf, keys, gapMs) {
    const startMs = performance.now();
    let lastKeyMs = startMs;
    let maxGapMs = 0;
    for (let keyIdx = 0; keyIdx < keys.length; keyIdx++) {
      const dueMs = startMs + keyIdx * gapMs;
      while (performance.now() < dueMs) await nextTask();
      const nowMs = performance.now();
      if (keyIdx > 0) maxGapMs = Math.max(maxGapMs, nowMs - lastKeyMs);
      lastKeyMs = nowMs;
      press(targetOf(), keys[keyIdx]);
    }
    return { startMs, lastKeyMs, maxGapMs };
  }

  // The start of the next frame (its animation callbacks run first, then style, layout
  // and paint) and the time after it has been rendered.
  function nextPaint() {
    return new Promise((resolve) => {
      requestAnimationFrame(() => {
        const frameStartMs = performance.now();
        nextTask().then(() => resolve({ frameStartMs, paintedMs: performance.now() }));
      });
    });
  }

  // Resolves once `isShown()` holds after a DOM change, with the time it held and the time
  // the frame showing it was rendered.
  function whenShown(isShown, timeoutMs) {
    return new Promise((resolve, reject) => {
      const observer = new MutationObserver(() => {
        if (!isShown()) return;
        observer.disconnect();
        clearTimeout(timer);
        const inDomMs = performance.now();
        nextPaint().then((frame) => resolve({ inDomMs, ...frame }));
      });
      const timer = setTimeout(() => {
        observer.disconnect();
        reject(new Error(`not on screen within ${timeoutMs} ms`));
      }, timeoutMs);
      observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
    });
  }

  function shows(expect) {
    const element = document.querySelector(expect.css);
    return element !== null && element.textContent.startsWith(expect.prefix);
  }

  function invoke(command, args) {
    return window.__TAURI__.core.invoke(command, args);
  }

  // An element outside the app's tree for the baseline to write into.
  let echo = null;
  function echoElement() {
    if (echo === null) {
      echo = document.createElement("div");
      echo.id = "bench-echo";
      echo.style.cssText = "position: fixed; left: 0; bottom: 0; font: 12px monospace; opacity: 0.6; pointer-events: none;";
      document.body.appendChild(echo);
    }
    return echo;
  }

  window.__aisleBench = {
    // One scan into the app: the burst to the focused element, then until the screen
    // shows `expect` ({ css, prefix }), which it must not show before.
    async scan({ keys, expect, gapMs, timeoutMs }) {
      if (shows(expect)) throw new Error(`the screen shows ${JSON.stringify(expect.prefix)} before the scan`);
      const shown = whenShown(() => shows(expect), timeoutMs);
      const keyTimes = await burst(() => document.activeElement ?? document.body, keys, gapMs);
      return { ...keyTimes, ...(await shown) };
    },

    // The floor under any scan: the same burst to an element outside the document (so no
    // listener of the app sees it), a near no-op command (`sync_status`) over the same IPC
    // on the terminator, the keys echoed into the page, and the frame that shows them.
    async baseline({ keys, gapMs, timeoutMs, sampleIdx }) {
      const echoed = echoElement();
      const sink = document.createElement("div");
      let buffer = "";
      const text = `baseline ${sampleIdx}: ${keys.slice(0, -1).join("")}`;
      sink.addEventListener("keydown", (event) => {
        if (event.key !== "Enter") {
          buffer += event.key;
          return;
        }
        const show = () => {
          echoed.textContent = `baseline ${sampleIdx}: ${buffer}`;
        };
        invoke("sync_status").then(show, show);
      });
      const shown = whenShown(() => echoed.textContent === text, timeoutMs);
      const keyTimes = await burst(() => sink, keys, gapMs);
      return { ...keyTimes, ...(await shown) };
    },

    // For a scan sent some other way (WebDriver's send keys): from now on, waits for the
    // screen to show `expect` and keeps the wall-clock time (ms since the epoch) of the
    // frame showing it in `watched`, for the Rust side to compare with its own clock.
    async watch({ expect, timeoutMs }) {
      if (shows(expect)) throw new Error(`the screen shows ${JSON.stringify(expect.prefix)} before the scan`);
      this.watched = null;
      whenShown(() => shows(expect), timeoutMs).then(
        ({ paintedMs }) => {
          this.watched = { paintedWallMs: performance.timeOrigin + paintedMs };
        },
        (error) => {
          this.watched = { error: String(error) };
        },
      );
      return true;
    },

    watched: null,

    // The command a Look up scan runs, called straight over IPC: its round trip with no
    // key handling and no render.
    async command({ command, args }) {
      const startMs = performance.now();
      let ok = true;
      try {
        await invoke(command, args);
      } catch {
        ok = false;
      }
      return { startMs, endMs: performance.now(), ok };
    },
  };
  return true;
})();
