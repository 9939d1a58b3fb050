//! tauri-driver (which runs WebKitGTK's WebDriver server, which runs the app), and the
//! WebDriver session over the app's window, with the few gestures the run needs: scanning
//! (a fast burst of keys, as a keyboard-wedge scanner types), typing at a person's pace,
//! clicking buttons, waiting for what the screen says, and screenshots.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long any one thing on screen may take to appear.
pub const WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);
/// The pause between a person's keys. The wedge detector takes keys less than 30 ms apart
/// for a scanner; WebKit's driver waits for each key to be handled before it counts the
/// pause, so this stays well apart however slow the machine is.
const TYPING_GAP: Duration = Duration::from_millis(70);
/// WebKitGTK's driver takes a screenshot after the next paint of the window, and a screen
/// with nothing changing on it (no blinking caret: the menu, say) is not painted again until
/// something changes, five minutes later when the idle sign-out comes. So before a
/// screenshot, a one-pixel element in a corner starts flickering between two all but
/// transparent shades, which keeps the window painting.
const PAINT_NUDGE: &str = "\
    if (document.getElementById('e2e-paint-nudge') === null) { \
      const style = document.createElement('style'); \
      style.textContent = '@keyframes e2e-paint-nudge { from { opacity: 0.01; } to { opacity: 0.02; } }'; \
      document.head.appendChild(style); \
      const nudge = document.createElement('div'); \
      nudge.id = 'e2e-paint-nudge'; \
      nudge.style.cssText = 'position: fixed; right: 0; bottom: 0; width: 1px; height: 1px; \
        background: #000; pointer-events: none; animation: e2e-paint-nudge 0.1s infinite alternate;'; \
      document.body.appendChild(nudge); \
    }";
/// The WebDriver key code of Enter.
const ENTER: char = '\u{e007}';

/// A running tauri-driver, in its own process group so that stopping it also stops the
/// WebKitWebDriver and the app under it.
#[derive(Debug)]
pub struct TauriDriver {
    child: Child,
    pub url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free loopback port")
        .port()
}

/// tauri-driver on PATH, or where `cargo install` puts it.
fn find_tauri_driver() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("tauri-driver"))
            .collect::<Vec<_>>()
    });
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    on_path
        .chain(cargo_home.map(|home| home.join("bin").join("tauri-driver")))
        .find(|candidate| candidate.is_file())
}

impl TauriDriver {
    /// Starts tauri-driver for `display`, logging it and everything under it to `log`.
    pub async fn start(display: &str, log: &Path) -> TauriDriver {
        Self::start_with_env(display, log, &[]).await
    }

    /// [`TauriDriver::start`], with more variables for the app it starts.
    pub async fn start_with_env(display: &str, log: &Path, env: &[(&str, String)]) -> TauriDriver {
        let Some(binary) = find_tauri_driver() else {
            panic!(
                "tauri-driver was not found on PATH or in ~/.cargo/bin; the UI end-to-end test \
                 needs it: run scripts/setup.sh (it runs `cargo install tauri-driver --locked` \
                 and installs webkit2gtk-driver)"
            );
        };
        let port = free_port();
        let native_port = free_port();
        let log_file = std::fs::File::create(log).expect("create the driver log");
        let child = Command::new(&binary)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", display)
            // WebKitGTK's GPU compositing has no GPU under Xvfb and would draw nothing.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("AISLE_LOG", "info")
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log file"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut driver = TauriDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_until_ready(log).await;
        driver
    }

    async fn wait_until_ready(&mut self, log: &Path) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!(
                    "tauri-driver exited ({status}) before it was ready; if it cannot find \
                     WebKitWebDriver, run scripts/setup.sh (it installs webkit2gtk-driver). \
                     Its log:\n{text}"
                );
            }
            let ready = http
                .get(format!("{}/status", self.url))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "tauri-driver did not answer on {} within {WAIT:?}",
                self.url
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        // SIGTERM first: tauri-driver then stops WebKitWebDriver itself; whatever of the
        // group is left after a bounded wait is killed.
        self.signal_group("-TERM");
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(POLL);
        }
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

/// The WebDriver session over the app's window.
#[derive(Debug, Clone)]
pub struct Ui {
    client: Client,
    screenshots: PathBuf,
}

impl Ui {
    /// Starts the app (`aisle --data-dir data_dir`) through tauri-driver.
    pub async fn launch(driver: &TauriDriver, data_dir: &Path, screenshots: &Path) -> Ui {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            json!({
                "application": env!("CARGO_BIN_EXE_aisle"),
                "args": ["--data-dir", data_dir],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|error| panic!("cannot open a WebDriver session on the app: {error}"));
        Ui {
            client,
            screenshots: screenshots.to_path_buf(),
        }
    }

    /// Ends the session, which closes the app.
    pub async fn close(self) {
        if let Err(error) = self.client.close().await {
            eprintln!("e2e: closing the WebDriver session failed: {error}");
        }
    }

    /// Runs `script` in the page and answers its result.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("running a script in the app failed: {error}"))
    }

    /// Runs `script` in the page with one more argument, a callback, and answers what the
    /// script passes that callback (WebDriver's Execute Async Script).
    pub async fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(script, args)
            .await
            .unwrap_or_else(|error| panic!("running an async script in the app failed: {error}"))
    }

    /// Calls `command` through Tauri's own IPC (`__TAURI_INTERNALS__`, there even without
    /// the global Tauri object), as any script that reached the page could: `Ok` with the
    /// answer, or `Err` with what the call rejected with, as text.
    pub async fn invoke_raw(&self, command: &str, args: Value) -> Result<Value, String> {
        let script = r#"
            const [command, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(command, args)
                .then((answer) => done({ ok: answer === undefined ? null : answer }))
                .catch((error) => done({ err: typeof error === "string" ? error : JSON.stringify(error) }));
        "#;
        let outcome = self
            .eval_async(script, vec![Value::from(command), args])
            .await;
        match outcome.get("err") {
            Some(error) => Err(error.as_str().unwrap_or_default().to_string()),
            None => Ok(outcome.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    /// The text of the first element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        let value = self
            .eval(
                "const element = document.querySelector(arguments[0]); \
                 return element === null ? null : element.innerText;",
                vec![json!(css)],
            )
            .await;
        value.as_str().map(|text| text.trim().to_string())
    }

    /// An attribute of the first element matching `css`, if there is one.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let value = self
            .eval(
                "const element = document.querySelector(arguments[0]); \
                 return element === null ? null : element.getAttribute(arguments[1]);",
                vec![json!(css), json!(name)],
            )
            .await;
        value.as_str().map(str::to_string)
    }

    /// What the field `id` holds.
    pub async fn field_value(&self, id: &str) -> String {
        self.eval(
            "const element = document.getElementById(arguments[0]); \
             return element === null ? null : element.value;",
            vec![json!(id)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The id of the element that has the focus.
    pub async fn focused_id(&self) -> String {
        self.eval(
            "return document.activeElement ? document.activeElement.id : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// All the text on screen, for failure messages.
    pub async fn screen_text(&self) -> String {
        self.text("body").await.unwrap_or_default()
    }

    /// Polls `probe` until it answers `Some`, for at most [`WAIT`]; on timeout saves a
    /// screenshot and fails with `what` and the screen's text.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        self.wait_for_within(what, WAIT, &mut probe).await
    }

    pub async fn wait_for_within<T, F, Fut>(&self, what: &str, limit: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                if let Err(error) = self.try_screenshot("failure").await {
                    eprintln!("e2e: no screenshot of the failure: {error}");
                }
                panic!(
                    "waited {limit:?} for {what}; the screen says:\n{}",
                    self.screen_text().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element matching `css` shows text containing `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        self.wait_for(&format!("{css} to say {expected:?}"), || async move {
            self.text(css).await.filter(|text| text.contains(expected))
        })
        .await
    }

    /// Waits until the header says which screen is open.
    pub async fn wait_for_screen(&self, title: &str) {
        self.wait_for(&format!("the {title:?} screen"), || async move {
            self.text("[data-testid=screen-title]")
                .await
                .filter(|text| text == title)
        })
        .await;
    }

    /// Waits until the field `id` has the focus, i.e. the screen waits for it.
    pub async fn wait_for_focus(&self, id: &str) {
        self.wait_for(&format!("the focus in #{id}"), || async move {
            (self.focused_id().await == id).then_some(())
        })
        .await;
    }

    /// The message under the step, once it says `expected` (title and detail).
    pub async fn wait_for_feedback(&self, expected: &str) -> String {
        self.wait_for_text("[data-testid=feedback]", expected).await
    }

    /// Clicks the button for key `key_name` (`F2`, `1`, `Enter`, ...).
    pub async fn click_action(&self, key_name: &str) {
        let css = format!("[data-testid=\"action-{key_name}\"]");
        let css = css.as_str();
        let button = self
            .wait_for(&format!("the button {key_name}"), || async move {
                self.client.find(Locator::Css(css)).await.ok()
            })
            .await;
        button
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {key_name} failed: {error}"));
    }

    /// Clicks the field `id` (to give it the focus).
    pub async fn click_field(&self, id: &str) {
        let field = self
            .wait_for(&format!("the field #{id}"), || async move {
                self.client.find(Locator::Id(id)).await.ok()
            })
            .await;
        field
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking #{id} failed: {error}"));
    }

    /// Scans `code`: its keys and Enter sent to the focused element as one fast burst, the
    /// way a keyboard-wedge scanner types.
    pub async fn scan(&self, code: &str) {
        let focused = self
            .client
            .active_element()
            .await
            .unwrap_or_else(|error| panic!("no focused element to scan into: {error}"));
        focused
            .send_keys(&format!("{code}{ENTER}"))
            .await
            .unwrap_or_else(|error| panic!("scanning {code} failed: {error}"));
    }

    /// Types `text` at a person's pace, without Enter.
    pub async fn type_text(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for character in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: character })
                .then(KeyAction::Up { value: character })
                .pause(TYPING_GAP);
        }
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|error| panic!("typing {text:?} failed: {error}"));
    }

    /// Presses one key (Enter by default) as a person does.
    pub async fn press_enter(&self) {
        self.type_text(&ENTER.to_string()).await;
    }

    /// Types `text` and presses Enter.
    pub async fn type_line(&self, text: &str) {
        self.type_text(&format!("{text}{ENTER}")).await;
    }

    /// The app window's outer size, to put it back after a look at a small screen.
    pub async fn window_size(&self) -> (u32, u32) {
        let (width, height) = self
            .client
            .get_window_size()
            .await
            .unwrap_or_else(|error| panic!("reading the window's size: {error}"));
        (width as u32, height as u32)
    }

    /// Resizes the app's window, as a small warehouse PC's screen would hold it.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|error| panic!("resizing the window to {width}x{height}: {error}"));
        // The page sees the new size once it has laid out again: its viewport fits the window
        // and fills it but for the window's frame (if a window manager draws one), growing as
        // well as shrinking, and the same on two reads 100 ms apart. Waiting only for "no
        // wider than asked" let the test click while a window growing back still had its
        // small layout, and the click landed where the button no longer was.
        const FRAME: u64 = 64;
        let fits = |size: &Value| -> Option<(u64, u64)> {
            let (inner_width, inner_height) = (size[0].as_u64()?, size[1].as_u64()?);
            let (width, height) = (u64::from(width), u64::from(height));
            (inner_width <= width
                && inner_height <= height
                && inner_width + FRAME >= width
                && inner_height + FRAME >= height)
                .then_some((inner_width, inner_height))
        };
        self.wait_for(
            &format!("the page to be laid out at {width}x{height}"),
            || async move {
                let script = "return [window.innerWidth, window.innerHeight];";
                let first = fits(&self.eval(script, vec![]).await)?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let second = fits(&self.eval(script, vec![]).await)?;
                (first == second).then_some(())
            },
        )
        .await;
    }

    /// The elements matching each of `selectors` that are not wholly inside the window's
    /// visible area (or missing), as "selector: why"; empty when all can be seen without
    /// scrolling.
    pub async fn not_in_view(&self, selectors: &[&str]) -> Vec<String> {
        let answer = self
            .eval(
                "const out = [];
                 for (const css of arguments[0]) {
                   const el = css === ':focus' ? document.activeElement : document.querySelector(css);
                   if (!el || el === document.body) { out.push(css + ': missing'); continue; }
                   const r = el.getBoundingClientRect();
                   if (r.width === 0 || r.height === 0) { out.push(css + ': not shown'); continue; }
                   if (r.top < 0 || r.left < 0 || r.bottom > window.innerHeight + 0.5 || r.right > window.innerWidth + 0.5) {
                     out.push(css + ': at ' + Math.round(r.left) + ',' + Math.round(r.top) + '-' + Math.round(r.right) + ',' + Math.round(r.bottom)
                       + ' in a ' + window.innerWidth + 'x' + window.innerHeight + ' window');
                   }
                 }
                 return out;",
                vec![json!(selectors)],
            )
            .await;
        answer
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a screenshot of the window as `name.png` in the screenshot folder.
    pub async fn screenshot(&self, name: &str) {
        if let Err(error) = self.try_screenshot(name).await {
            panic!("screenshot {name}: {error}");
        }
    }

    async fn try_screenshot(&self, name: &str) -> Result<(), String> {
        self.eval(PAINT_NUDGE, vec![]).await;
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|error| error.to_string())?;
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    }
}
