//! `aisle-server --config FILE` (or `AISLE_CONFIG`): the server's options from a TOML file,
//! as a service reads them from `/etc/aisle/server.toml`.
//!
//! Each key is a long flag's name without its dashes (`listen`, `data`, `max-connections`;
//! `max_connections` is the same key), each value a string, number or boolean. Every global
//! flag and every `serve` flag may be set there; a key no flag has is an error naming the
//! key and the file, so a typo never goes unnoticed. The file's values become the flags'
//! defaults, so a flag given on the command line wins over its `AISLE_*` variable, which
//! wins over the file, which wins over the built-in default. `packaging/server.toml` is a
//! commented sample (README, "Install"); a test checks that this server takes it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The config file the arguments or `AISLE_CONFIG` name, found before clap parses them (the
/// file decides the defaults clap parses with).
pub fn named(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("AISLE_CONFIG").map(PathBuf::from)
}

/// `command` with the defaults `path` sets, or what is wrong with the file.
pub fn apply(command: clap::Command, path: &Path) -> Result<clap::Command, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the config file {}: {error}", path.display()))?;
    apply_text(command, &text).map_err(|error| format!("{}: {error}", path.display()))
}

/// `command` with the defaults the TOML `text` sets.
fn apply_text(mut command: clap::Command, text: &str) -> Result<clap::Command, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| error.to_string().trim_end().to_owned())?;
    for (key, value) in table {
        let long = key.replace('_', "-");
        let value = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            other => {
                return Err(format!(
                    "`{key}` must be a string, number or boolean, not a {}",
                    other.type_str()
                ))
            }
        };
        // Defaults live as long as the command does, which is the process.
        let value: &'static str = Box::leak(value.into_boxed_str());
        if long == "config" {
            return Err("`config` cannot name another config file".to_owned());
        }
        if let Some(id) = arg_id(&command, &long) {
            command = command.mut_arg(id, |arg| arg.default_value(value));
        } else if let Some(id) = command
            .find_subcommand("serve")
            .and_then(|serve| arg_id(serve, &long))
        {
            command = command.mut_subcommand("serve", |serve| {
                serve.mut_arg(id, |arg| arg.default_value(value))
            });
        } else {
            return Err(format!(
                "unknown option `{key}`; the options are: {}",
                known_options(&command).join(", ")
            ));
        }
    }
    Ok(command)
}

/// The id of `command`'s argument whose long flag is `long`.
fn arg_id(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .map(|arg| arg.get_id().to_string())
}

/// Every key a config file may set: the global flags and `serve`'s.
fn known_options(command: &clap::Command) -> Vec<String> {
    let serve = command.find_subcommand("serve");
    let mut names: Vec<String> = command
        .get_arguments()
        .chain(serve.into_iter().flat_map(clap::Command::get_arguments))
        .filter_map(|arg| arg.get_long())
        .filter(|long| !matches!(*long, "config" | "help" | "version"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        clap::Command::new("aisle-server")
            .arg(clap::Arg::new("data").long("data").global(true))
            .arg(clap::Arg::new("config").long("config").global(true))
            .subcommand(
                clap::Command::new("serve")
                    .arg(
                        clap::Arg::new("listen")
                            .long("listen")
                            .default_value("127.0.0.1:8080"),
                    )
                    .arg(
                        clap::Arg::new("max_connections")
                            .long("max-connections")
                            .env("AISLE_TEST_CONFIG_MAX_CONNECTIONS")
                            .default_value("1024"),
                    ),
            )
    }

    fn serve_value(matches: &clap::ArgMatches, id: &str) -> Option<String> {
        let (_, serve) = matches.subcommand().expect("serve");
        serve.get_one::<String>(id).cloned()
    }

    #[test]
    fn the_file_sets_defaults_and_a_flag_wins_over_it() {
        let configured = apply_text(
            command(),
            "data = \"/var/lib/aisle\"\nlisten = \"0.0.0.0:8443\"\nmax_connections = 2048\n",
        )
        .expect("a valid file");
        let matches = configured
            .clone()
            .try_get_matches_from(["aisle-server", "serve"])
            .expect("parses");
        assert_eq!(
            matches.get_one::<String>("data").map(String::as_str),
            Some("/var/lib/aisle")
        );
        assert_eq!(
            serve_value(&matches, "listen").as_deref(),
            Some("0.0.0.0:8443")
        );
        assert_eq!(
            serve_value(&matches, "max_connections").as_deref(),
            Some("2048")
        );
        let matches = configured
            .try_get_matches_from(["aisle-server", "serve", "--listen", "127.0.0.1:9"])
            .expect("parses");
        assert_eq!(
            serve_value(&matches, "listen").as_deref(),
            Some("127.0.0.1:9"),
            "the command line wins over the file"
        );
    }

    #[test]
    fn an_unknown_key_a_table_and_bad_toml_are_refused_by_name() {
        let unknown = apply_text(command(), "max_conections = 5").unwrap_err();
        assert!(
            unknown.contains("unknown option `max_conections`")
                && unknown.contains("max-connections"),
            "{unknown}"
        );
        let table = apply_text(command(), "[serve]\nlisten = \"x\"").unwrap_err();
        assert!(
            table.contains("`serve` must be a string, number or boolean"),
            "{table}"
        );
        let broken = apply_text(command(), "listen = ").unwrap_err();
        assert!(broken.contains("line 1"), "{broken}");
        let nested = apply_text(command(), "config = \"/etc/other.toml\"").unwrap_err();
        assert!(
            nested.contains("cannot name another config file"),
            "{nested}"
        );
    }

    #[test]
    fn the_config_flag_is_found_before_parsing() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            named(&args(&[
                "aisle-server",
                "--config",
                "/etc/aisle/server.toml",
                "serve"
            ])),
            Some(PathBuf::from("/etc/aisle/server.toml"))
        );
        assert_eq!(
            named(&args(&["aisle-server", "serve", "--config=/tmp/a.toml"])),
            Some(PathBuf::from("/tmp/a.toml"))
        );
    }
}
