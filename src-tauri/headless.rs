//! `aisle enroll`: enrolment without a window, for IT enrolling 30 PCs from a script or a
//! device-management tool.
//!
//! `aisle enroll --server URL --code CODE [--profile NAME] [--device-name NAME]
//! [--data-dir DIR] [--allow-http]` does what the Enroll screen does: the server takes the
//! one-time code, the device token and a new store key go to the OS keyring, the store is
//! created with its profile, and the profile becomes the one the app opens at its next
//! start. It prints one line on success and exits 0; on a used, expired or unknown code, an
//! unreachable server or a bad URL it prints the reason and exits 1, leaving nothing behind.
//! It never opens a window, so it runs over SSH and from a service.

use crate::state::AppState;
use aisle_sync::enroll::EnrollForm;
use aisle_sync::SyncConfig;
use std::path::PathBuf;

const USAGE: &str = "usage: aisle enroll --server URL --code CODE [--profile NAME] \
[--device-name NAME] [--data-dir DIR] [--allow-http]";

/// What `aisle enroll` was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub struct EnrollArgs {
    pub server: String,
    pub code: String,
    pub profile: String,
    pub device_name: String,
    pub data_dir: Option<PathBuf>,
    pub allow_http: bool,
}

/// The arguments after `enroll`, or what is wrong with them. The profile defaults to the
/// device name, and the device name to the PC's host name.
pub fn parse(args: &[String], host_name: &str) -> Result<EnrollArgs, String> {
    let mut values = std::collections::HashMap::new();
    let mut allow_http = false;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--allow-http" => allow_http = true,
            "--server" | "--code" | "--profile" | "--device-name" | "--data-dir" => {
                let value = args
                    .next()
                    .filter(|value| !value.starts_with("--"))
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
                values.insert(flag.as_str(), value.clone());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let mut take = |flag: &str| values.remove(flag);
    let server = take("--server").ok_or_else(|| format!("--server is required\n{USAGE}"))?;
    let code = take("--code").ok_or_else(|| format!("--code is required\n{USAGE}"))?;
    let device_name = take("--device-name").unwrap_or_else(|| host_name.to_owned());
    let profile = take("--profile").unwrap_or_else(|| device_name.clone());
    Ok(EnrollArgs {
        server,
        code,
        profile,
        device_name,
        data_dir: take("--data-dir").map(PathBuf::from),
        allow_http,
    })
}

/// The app's data directory as Tauri names it: the platform's data directory and the
/// bundle identifier from tauri.conf.json.
fn default_data_dir() -> Result<PathBuf, String> {
    let identifier = serde_json::from_str::<serde_json::Value>(include_str!("../tauri.conf.json"))
        .ok()
        .and_then(|config| config["identifier"].as_str().map(str::to_owned))
        .ok_or("tauri.conf.json has no identifier")?;
    dirs::data_dir()
        .map(|dir| dir.join(identifier))
        .ok_or_else(|| "this user has no data directory; give --data-dir".to_owned())
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "pc".to_owned())
}

/// Runs `aisle enroll ARGS`: the process's exit code.
pub fn enroll(args: &[String]) -> i32 {
    match try_enroll(args) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(message) => {
            eprintln!("aisle enroll: {message}");
            1
        }
    }
}

fn try_enroll(args: &[String]) -> Result<String, String> {
    let args = parse(args, &host_name())?;
    let data_dir = match args.data_dir.clone() {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let state = AppState::new(data_dir.clone())?;
    if state
        .book
        .lock()
        .map_err(|_| "the profile book lock is poisoned".to_owned())?
        .by_name(&args.profile)
        .is_some()
    {
        return Err(format!(
            "this PC already has a profile named {:?}; give another --profile",
            args.profile
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start: {error}"))?;
    let profile = runtime
        .block_on(aisle_sync::enroll(
            &EnrollForm {
                server_url: args.server.trim(),
                code: args.code.trim(),
                device_name: args.device_name.trim(),
                profile_name: &args.profile,
                allow_insecure_http: args.allow_http,
            },
            state.tokens(),
            &SyncConfig::default(),
        ))
        .map_err(|error| format!("enrolment failed: {error}"))?;
    let store = state
        .install(profile.clone())
        .map_err(|error| error.message)?;
    Ok(format!(
        "enrolled {:?} as device {} ({}) of tenant {}, warehouse {}; store {}; the app opens it at its next start",
        profile.name,
        args.device_name,
        profile.device,
        profile.tenant,
        profile.warehouse,
        store.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn the_profile_and_device_name_default_to_the_host_name() {
        let parsed = parse(
            &args(&["--server", "https://aisle.example", "--code", "AB12"]),
            "dock-2",
        )
        .expect("parses");
        assert_eq!(
            (
                parsed.profile.as_str(),
                parsed.device_name.as_str(),
                parsed.allow_http
            ),
            ("dock-2", "dock-2", false)
        );
        let parsed = parse(
            &args(&[
                "--code",
                "AB12",
                "--server",
                "http://127.0.0.1:8080",
                "--allow-http",
                "--profile",
                "night",
                "--data-dir",
                "/tmp/aisle",
            ]),
            "dock-2",
        )
        .expect("parses");
        assert_eq!(parsed.profile, "night");
        assert_eq!(parsed.data_dir, Some(PathBuf::from("/tmp/aisle")));
        assert!(parsed.allow_http);
    }

    #[test]
    fn missing_and_unknown_arguments_are_named() {
        let missing = parse(&args(&["--server", "https://a"]), "pc").unwrap_err();
        assert!(missing.starts_with("--code is required"), "{missing}");
        let empty = parse(&args(&["--code", "--server", "https://a"]), "pc").unwrap_err();
        assert!(empty.starts_with("--code needs a value"), "{empty}");
        let unknown = parse(&args(&["--sever", "https://a"]), "pc").unwrap_err();
        assert!(
            unknown.starts_with("unknown argument \"--sever\""),
            "{unknown}"
        );
    }
}
