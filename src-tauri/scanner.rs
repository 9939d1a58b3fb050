//! Scanner settings (kept in `scanner.json` in the app's data directory) and serial or
//! USB-CDC scanners, read with the `serialport` crate: the whole serial-port lifecycle,
//! from listing ports to opening, replacing and closing the reader. A serial scanner's lines
//! reach the UI as the `scan` event `{ raw }`, the same shape the keyboard-wedge detector
//! produces, so every screen takes scans from either alike. The settings' shape is
//! `aisle_app::views::ScannerSettings`.

use crate::state::AppState;
use aisle_app::views::ScannerSettings;
use aisle_app::{CommandError, ErrorCode};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tauri::Emitter;

fn settings_path(data_dir: &Path) -> PathBuf {
    data_dir.join("scanner.json")
}

/// The saved settings, or the defaults when none are saved or the file is unreadable.
pub fn load_settings(data_dir: &Path) -> ScannerSettings {
    std::fs::read_to_string(settings_path(data_dir))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Saves `settings` once they pass [`ScannerSettings::check`].
pub fn save_settings(settings: &ScannerSettings, data_dir: &Path) -> Result<(), String> {
    settings.check()?;
    std::fs::create_dir_all(data_dir).map_err(|error| error.to_string())?;
    let text = serde_json::to_string_pretty(settings).map_err(|error| error.to_string())?;
    std::fs::write(settings_path(data_dir), text).map_err(|error| error.to_string())
}

/// (Re)opens the serial scanner the settings name, or closes it when they name none.
pub fn open_serial_scanner(
    app: &tauri::AppHandle,
    state: &AppState,
    settings: &ScannerSettings,
) -> Result<(), CommandError> {
    let mut serial = state
        .serial
        .lock()
        .map_err(|_| CommandError::new(ErrorCode::SerialError, "the serial lock is poisoned"))?;
    // The old reader stops when dropped, before the new one opens the port.
    *serial = None;
    if let Some(port) = settings
        .serial_port
        .as_deref()
        .filter(|port| !port.is_empty())
    {
        let reader = start_serial(app.clone(), port, settings.baud.unwrap_or(9_600))
            .map_err(|message| CommandError::new(ErrorCode::SerialError, message))?;
        *serial = Some(reader);
    }
    Ok(())
}

/// The serial ports this PC has, by name (e.g. `/dev/ttyACM0`, `COM3`).
pub fn serial_ports() -> Result<Vec<String>, String> {
    serialport::available_ports()
        .map(|ports| ports.into_iter().map(|port| port.port_name).collect())
        .map_err(|error| format!("cannot list serial ports: {error}"))
}

/// A running serial reader; dropping it stops the reader thread.
#[derive(Debug)]
pub struct SerialReader {
    stop: Arc<AtomicBool>,
}

impl Drop for SerialReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Opens `port` at `baud` and emits each line it reads as a `scan` event.
pub fn start_serial(app: tauri::AppHandle, port: &str, baud: u32) -> Result<SerialReader, String> {
    let mut serial = serialport::new(port, baud)
        .timeout(Duration::from_millis(200))
        .open()
        .map_err(|error| format!("cannot open serial scanner {port}: {error}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let port_name = port.to_string();
    std::thread::Builder::new()
        .name("aisle-serial-scanner".into())
        .spawn(move || {
            let mut line = Vec::new();
            let mut buffer = [0u8; 256];
            while !stopped.load(Ordering::Relaxed) {
                match serial.read(&mut buffer) {
                    Ok(n_bytes) => {
                        for raw in split_lines(&mut line, &buffer[..n_bytes]) {
                            let _ = app.emit("scan", serde_json::json!({ "raw": raw }));
                        }
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(error) => {
                        tracing::warn!(port = %port_name, %error, "serial scanner stopped");
                        return;
                    }
                }
            }
        })
        .map_err(|error| error.to_string())?;
    Ok(SerialReader { stop })
}

/// Appends `bytes` to the pending `line` and returns every scan completed by CR or LF.
/// Empty lines (the LF after a CR) are not scans.
fn split_lines(line: &mut Vec<u8>, bytes: &[u8]) -> Vec<String> {
    let mut scans = Vec::new();
    for &byte in bytes {
        if byte == b'\r' || byte == b'\n' {
            if !line.is_empty() {
                scans.push(String::from_utf8_lossy(line).into_owned());
                line.clear();
            }
        } else {
            line.push(byte);
        }
    }
    scans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_bytes_become_one_scan_per_line_across_reads() {
        let mut line = Vec::new();
        assert!(
            split_lines(&mut line, b"]C1010950").is_empty(),
            "no terminator yet"
        );
        assert_eq!(
            split_lines(&mut line, b"6000134352\r\nL:A-01\r"),
            ["]C10109506000134352", "L:A-01"]
        );
        assert!(
            split_lines(&mut line, b"\n").is_empty(),
            "a lone LF after CR is no scan"
        );
        // The group separator a GS1 scanner sends survives as is.
        assert_eq!(split_lines(&mut line, b"10AB\x1d17\n"), ["10AB\u{1d}17"]);
    }

    #[test]
    fn settings_round_trip_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load_settings(dir.path()), ScannerSettings::default());
        let bluetooth = ScannerSettings {
            max_key_gap_ms: 80,
            serial_port: Some("/dev/ttyACM0".into()),
            baud: Some(9600),
            ..ScannerSettings::default()
        };
        save_settings(&bluetooth, dir.path()).expect("save");
        assert_eq!(load_settings(dir.path()), bluetooth);
        let bad = ScannerSettings {
            terminator: "space".into(),
            ..ScannerSettings::default()
        };
        assert!(save_settings(&bad, dir.path()).is_err());
        assert_eq!(
            load_settings(dir.path()),
            bluetooth,
            "a refused save leaves the saved settings alone"
        );
    }
}
