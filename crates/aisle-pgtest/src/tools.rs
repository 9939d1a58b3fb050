//! Finding the PostgreSQL and PgBouncer programs, and running them as the right user.
//!
//! PostgreSQL's server programs refuse to run as root, and CI runs as root: there they run as
//! the `postgres` system user (which Debian's `postgresql` package creates) through
//! `runuser -u postgres --`, in directories chowned to it. Anyone else runs them as themselves.

use crate::PgTestError;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The system user the server programs run as when the tests run as root.
const SERVICE_USER: &str = "postgres";

/// Where the programs are and who runs them.
#[derive(Clone, Debug)]
pub(crate) struct Tools {
    /// The directory holding initdb, pg_ctl, pg_basebackup and psql of one version.
    pub(crate) bin_dir: PathBuf,
    /// Whether we are root, so the server programs run as [`SERVICE_USER`].
    pub(crate) as_service_user: bool,
}

impl Tools {
    /// Finds the server programs: `AISLE_PG_BIN` if set, else the directory of `pg_ctl` on
    /// `PATH` (symlinks resolved), else the newest `/usr/lib/postgresql/*/bin` (where Debian
    /// installs them, off `PATH`).
    pub(crate) fn find() -> Result<Tools, PgTestError> {
        let bin_dir = find_bin_dir(std::env::var_os("AISLE_PG_BIN").map(PathBuf::from)).ok_or(
            PgTestError::NotInstalled {
                programs: "initdb and pg_ctl",
                package: "postgresql",
            },
        )?;
        let as_service_user = running_as_root()?;
        if as_service_user && !service_user_exists() {
            return Err(PgTestError::NoServiceUser);
        }
        Ok(Tools {
            bin_dir,
            as_service_user,
        })
    }

    /// A command for a server program (initdb, pg_ctl, pg_basebackup, pgbouncer), run as the
    /// service user when we are root, from `cwd` (which that user can enter).
    pub(crate) fn server_command(&self, program: &Path, cwd: &Path) -> Command {
        let mut command = if self.as_service_user {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVICE_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.current_dir(cwd).stdin(Stdio::null());
        command
    }

    /// Starts a watchdog, in a session of its own (so a Ctrl-C to the tests does not reach
    /// it), that waits for this test process to end and then runs `cleanup` with `sh`: a test
    /// process killed before its `Drop`s ran leaves no server running and no directory
    /// behind. After a normal end `cleanup` finds nothing left to do. `args` are `$1`, `$2`, ….
    pub(crate) fn reap_after_exit(&self, cleanup: &str, args: &[&std::ffi::OsStr]) {
        let script = format!(
            "test_pid=$1; shift; while kill -0 \"$test_pid\" 2>/dev/null; do sleep 1; done; {cleanup}"
        );
        // Best effort: without setsid the tests still run, they only lose this safety net.
        let _ = Command::new("setsid")
            .args(["sh", "-c", &script, "aisle-pgtest-reaper"])
            .arg(std::process::id().to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// `runuser -u postgres --` as words for a shell, or nothing when not root.
    pub(crate) fn run_as_words(&self) -> &'static str {
        if self.as_service_user {
            "runuser -u postgres --"
        } else {
            ""
        }
    }

    pub(crate) fn program(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// Gives a directory we created to the service user (a no-op when not root).
    pub(crate) fn hand_over(&self, dir: &Path) -> Result<(), PgTestError> {
        if !self.as_service_user {
            return Ok(());
        }
        let mut command = Command::new("chown");
        command
            .arg("-R")
            .arg(format!("{SERVICE_USER}:"))
            .arg(dir)
            .stdin(Stdio::null());
        run(command, "chown")?;
        Ok(())
    }
}

/// Runs `command` to completion; its output, or an error carrying what it printed.
pub(crate) fn run(mut command: Command, what: &str) -> Result<Output, PgTestError> {
    let output = command.output().map_err(|source| PgTestError::Spawn {
        program: what.to_owned(),
        source,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(PgTestError::Failed {
            program: what.to_owned(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// The directory of the server programs; `pg_bin` (AISLE_PG_BIN) wins when set, and only if
/// it has them.
fn find_bin_dir(pg_bin: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(dir) = pg_bin {
        return has_server_programs(&dir).then_some(dir);
    }
    if let Some(pg_ctl) = find_on_path("pg_ctl") {
        let resolved = std::fs::canonicalize(&pg_ctl).unwrap_or(pg_ctl);
        if let Some(dir) = resolved.parent() {
            if has_server_programs(dir) {
                return Some(dir.to_path_buf());
            }
        }
    }
    newest_debian_bin_dir(Path::new("/usr/lib/postgresql"))
}

fn has_server_programs(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// The `bin` directory of the highest-numbered version under `root` that has `pg_ctl`.
fn newest_debian_bin_dir(root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `name` in a directory of `PATH`, or in /usr/sbin and /usr/local/sbin (where Debian puts
/// pgbouncer, and which a non-root `PATH` often lacks).
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether this process runs as root: a file it creates belongs to its effective user.
fn running_as_root() -> Result<bool, PgTestError> {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::tempfile().map_err(PgTestError::Io)?;
    Ok(probe.metadata().map_err(PgTestError::Io)?.uid() == 0)
}

fn service_user_exists() -> bool {
    std::fs::read_to_string("/etc/passwd").is_ok_and(|passwd| {
        passwd
            .lines()
            .any(|line| line.split(':').next() == Some(SERVICE_USER))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_numbered_version_wins_and_a_directory_without_pg_ctl_is_skipped() {
        let root = tempfile::tempdir().unwrap();
        for (version, with_pg_ctl) in [("9", true), ("15", true), ("16", false), ("common", true)] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            if with_pg_ctl {
                std::fs::write(bin.join("pg_ctl"), "").unwrap();
            }
        }
        assert_eq!(
            newest_debian_bin_dir(root.path()),
            Some(root.path().join("15").join("bin")),
            "15 beats 9 numerically; 16 has no pg_ctl; 'common' is no version"
        );
        assert_eq!(newest_debian_bin_dir(&root.path().join("absent")), None);
    }

    #[test]
    fn an_aisle_pg_bin_without_the_programs_is_not_installed_and_the_error_names_the_package() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(find_bin_dir(Some(empty.path().to_path_buf())), None);
        for program in ["initdb", "pg_ctl"] {
            std::fs::write(empty.path().join(program), "").unwrap();
        }
        assert_eq!(
            find_bin_dir(Some(empty.path().to_path_buf())),
            Some(empty.path().to_path_buf())
        );
        let message = PgTestError::NotInstalled {
            programs: "initdb and pg_ctl",
            package: "postgresql",
        }
        .to_string();
        assert!(
            message.contains("install the `postgresql` package"),
            "{message}"
        );
    }
}
