//! The X display the app draws on: the one in `DISPLAY` when there is one, else a private
//! Xvfb that this run starts on a free display number and stops when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

#[derive(Debug)]
pub struct Display {
    /// The value for `DISPLAY`, e.g. `:99`.
    pub name: String,
    xvfb: Option<(Child, ChildStdout)>,
}

impl Display {
    pub fn open() -> Display {
        if let Some(name) = std::env::var("DISPLAY")
            .ok()
            .filter(|name| !name.is_empty())
        {
            return Display { name, xvfb: None };
        }
        // `-displayfd 1` makes Xvfb choose a free display number itself and write it to
        // stdout once it accepts clients, so there is neither a race for the number nor a
        // guess at when it is ready.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start Xvfb ({error}); DISPLAY is not set, and the UI end-to-end \
                     test needs a display: run scripts/setup.sh, which installs xvfb"
                )
            });
        let stdout = child.stdout.take().expect("Xvfb's stdout is piped");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        let number = line.trim().to_string();
        if read.is_err() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Xvfb did not report a display number (it said {line:?})");
        }
        Display {
            name: format!(":{number}"),
            xvfb: Some((child, reader.into_inner())),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some((mut child, _stdout)) = self.xvfb.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
