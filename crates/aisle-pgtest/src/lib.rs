//! aisle-pgtest: throwaway PostgreSQL clusters (and a PgBouncer in front of one) for tests.
//!
//! [`PgCluster::start`] runs `initdb` and `pg_ctl` in a fresh temporary directory: trust
//! authentication, superuser `aisle`, listening on a free loopback port and on a unix socket
//! in that directory. [`PgCluster::start_replica`] adds a streaming hot standby
//! (`pg_basebackup -R`); [`PgBouncer::start`] puts a PgBouncer in transaction mode in front.
//! Dropping a cluster stops it at once (`pg_ctl stop -m immediate`) and removes its directory.
//!
//! As root (CI is root, and `initdb` refuses root) the server programs run as the `postgres`
//! system user that Debian's `postgresql` package creates; otherwise as the caller. The
//! programs are found on `PATH`, else in the newest `/usr/lib/postgresql/*/bin` (Debian's
//! place, off `PATH`), or in `AISLE_PG_BIN`.
//!
//! What it must never do: be a dependency of anything but tests, or touch a cluster it did
//! not create (no system service, no fixed port, no data directory outside its temp dir).
//! Settings favour speed over durability (`fsync=off`): these clusters hold nothing of value.

mod bouncer;
mod tools;

pub use bouncer::{PgBouncer, PgBouncerOptions};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tools::{run, Tools};

/// The superuser of every test cluster (trust authentication, no password).
pub const SUPERUSER: &str = "aisle";

/// Why a test cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum PgTestError {
    #[error("{programs} not found (on PATH, in /usr/lib/postgresql/*/bin or AISLE_PG_BIN): install the `{package}` package (scripts/setup.sh does)")]
    NotInstalled {
        programs: &'static str,
        package: &'static str,
    },
    #[error("running as root, but there is no `postgres` system user to run PostgreSQL as: install the `postgresql` package (scripts/setup.sh does)")]
    NoServiceUser,
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {output}")]
    Failed {
        program: String,
        status: String,
        output: String,
    },
    #[error("{what} did not happen within {seconds} s{detail}")]
    Timeout {
        what: String,
        seconds: u64,
        detail: String,
    },
    #[error("test cluster i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Settings for [`PgCluster::start_with`].
#[derive(Clone, Debug, Default)]
pub struct PgOptions {
    /// `max_connections` (PostgreSQL's default, 100, when `None`).
    pub max_connections: Option<u32>,
    /// More `name = value` lines for postgresql.conf, e.g. `("statement_timeout", "5s")`;
    /// values are written as given (quote strings yourself).
    pub settings: Vec<(String, String)>,
}

/// A PostgreSQL cluster of its own, in a temporary directory, for one test.
#[derive(Debug)]
pub struct PgCluster {
    tools: Tools,
    /// Dropped last: removes the data directory, the log and the socket.
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

/// How long a cluster may take to start, stop or catch up before a test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

impl PgCluster {
    /// Starts a new cluster with the default settings.
    pub fn start() -> Result<PgCluster, PgTestError> {
        PgCluster::start_with(PgOptions::default())
    }

    /// Starts a new cluster with `options`, and a database named `aisle` (the superuser's
    /// default database) beside `postgres`.
    pub fn start_with(options: PgOptions) -> Result<PgCluster, PgTestError> {
        let tools = Tools::find()?;
        let dir = tempfile::Builder::new().prefix("aisle-pg-").tempdir()?;
        reap_after_exit(&tools, dir.path());
        tools.hand_over(dir.path())?;
        let mut initdb = tools.server_command(&tools.program("initdb"), dir.path());
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .args(["--no-sync", "--no-instructions"]);
        run(initdb, "initdb")?;
        let mut settings = vec![
            ("listen_addresses".to_owned(), "'127.0.0.1'".to_owned()),
            ("fsync".to_owned(), "off".to_owned()),
            ("full_page_writes".to_owned(), "off".to_owned()),
            ("shared_buffers".to_owned(), "32MB".to_owned()),
        ];
        if let Some(max_connections) = options.max_connections {
            settings.push(("max_connections".to_owned(), max_connections.to_string()));
        }
        settings.extend(options.settings);
        let mut cluster = PgCluster {
            tools,
            dir,
            port: 0,
            running: false,
        };
        cluster.configure(&settings)?;
        cluster.start_on_a_free_port()?;
        cluster.psql("postgres", &format!("CREATE DATABASE {SUPERUSER}"))?;
        Ok(cluster)
    }

    /// Adds a streaming hot standby of this cluster (`pg_basebackup -R -X stream`) in a
    /// directory of its own, on a port of its own, and starts it. Writes on this cluster
    /// reach it asynchronously; see [`PgCluster::wait_for_replay`].
    pub fn start_replica(&self) -> Result<PgCluster, PgTestError> {
        let dir = tempfile::Builder::new()
            .prefix("aisle-pg-replica-")
            .tempdir()?;
        reap_after_exit(&self.tools, dir.path());
        self.tools.hand_over(dir.path())?;
        let mut basebackup = self
            .tools
            .server_command(&self.tools.program("pg_basebackup"), dir.path());
        basebackup
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
            ])
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-R", "-X", "stream", "--checkpoint=fast", "--no-sync"]);
        run(basebackup, "pg_basebackup")?;
        let mut replica = PgCluster {
            tools: self.tools.clone(),
            dir,
            port: 0,
            running: false,
        };
        replica.configure(&[("hot_standby".to_owned(), "on".to_owned())])?;
        replica.start_on_a_free_port()?;
        Ok(replica)
    }

    /// `postgres://aisle@127.0.0.1:PORT/DB`.
    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.base_url())
    }

    /// The cluster's URL without a database: `postgres://aisle@127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}", self.port)
    }

    /// The loopback TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the unix socket (`.s.PGSQL.PORT`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) -> Result<(), PgTestError> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        )?;
        Ok(())
    }

    /// Runs `sql` with `psql` on database `database` and returns what it printed: unaligned,
    /// tuples only (`1|a` per row), trimmed. Stops at the first error, which is returned.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgTestError> {
        psql_at(&self.tools, self.port, database, sql)
    }

    /// Waits until this replica has replayed everything `primary` had written when called.
    pub fn wait_for_replay(&self, primary: &PgCluster) -> Result<(), PgTestError> {
        let target = primary.psql("postgres", "SELECT pg_current_wal_lsn()")?;
        let sql = format!("SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn");
        wait_until(&format!("replay up to {target}"), || {
            Ok(self.psql("postgres", &sql)? == "t")
        })
    }

    /// Stops the cluster cleanly (`pg_ctl stop -m fast`); [`PgCluster::start_again`] restarts it.
    pub fn stop(&mut self) -> Result<(), PgTestError> {
        self.pg_ctl(&["stop", "-m", "fast", "-w"])?;
        self.running = false;
        Ok(())
    }

    /// Kills the postmaster with SIGKILL, as a crash would, and waits until its children
    /// (which notice their parent's death) are gone too.
    pub fn kill(&mut self) -> Result<(), PgTestError> {
        let pid = self.postmaster_pid()?;
        let mut kill = std::process::Command::new("kill");
        kill.args(["-KILL", &pid.to_string()]);
        run(kill, "kill")?;
        self.running = false;
        // pg_ctl starts the postmaster in a session of its own: its process group is its pid.
        wait_until("the killed cluster's processes to exit", || {
            let mut probe = std::process::Command::new("kill");
            probe
                .args(["-0", "--", &format!("-{pid}")])
                .stderr(std::process::Stdio::null());
            Ok(!probe.status()?.success())
        })
    }

    /// Starts a stopped or killed cluster again, on the same port (crash recovery runs first
    /// after [`PgCluster::kill`]).
    pub fn start_again(&mut self) -> Result<(), PgTestError> {
        self.start_on(self.port)?;
        Ok(())
    }

    /// Whether this cluster was started and not stopped or killed since.
    pub fn is_running(&self) -> bool {
        self.running
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Appends `settings` and the socket directory to postgresql.conf (later lines win).
    fn configure(&self, settings: &[(String, String)]) -> Result<(), PgTestError> {
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir().join("postgresql.conf"))?;
        writeln!(conf, "\n# aisle-pgtest")?;
        writeln!(
            conf,
            "unix_socket_directories = '{}'",
            self.dir.path().display()
        )?;
        for (name, value) in settings {
            writeln!(conf, "{name} = {value}")?;
        }
        Ok(())
    }

    fn start_on_a_free_port(&mut self) -> Result<(), PgTestError> {
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            match self.start_on(port) {
                Ok(()) => return Ok(()),
                Err(error) if self.log().contains("could not bind") => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.expect("five attempts were made"))
    }

    fn start_on(&mut self, port: u16) -> Result<(), PgTestError> {
        let started = Instant::now();
        loop {
            let log_before = self.log().len();
            let error = match self.pg_ctl(&["start", "-w", "-t", "60", "-o", &format!("-p {port}")])
            {
                Ok(_) => break,
                Err(error) => error,
            };
            let log = self.log();
            let new_lines = log.get(log_before..).unwrap_or_default();
            // After a SIGKILL a backend may still hold the old shared memory for a moment.
            if new_lines.contains("pre-existing shared memory block")
                && started.elapsed() < PATIENCE
            {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            return Err(match error {
                PgTestError::Failed {
                    program,
                    status,
                    output,
                } => PgTestError::Failed {
                    program,
                    status,
                    output: format!("{output}\nserver log:\n{log}"),
                },
                error => error,
            });
        }
        self.port = port;
        self.running = true;
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<std::process::Output, PgTestError> {
        let mut pg_ctl = self
            .tools
            .server_command(&self.tools.program("pg_ctl"), self.dir.path());
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(args);
        run(pg_ctl, "pg_ctl")
    }

    fn postmaster_pid(&self) -> Result<u32, PgTestError> {
        let pid_file = std::fs::read_to_string(self.data_dir().join("postmaster.pid"))?;
        pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| {
                PgTestError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("postmaster.pid without a pid: {pid_file:?}"),
                ))
            })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Immediate: no checkpoint, the directory is removed right after. Also when it looks
        // stopped, in case a start half-succeeded.
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

/// `psql` against the loopback `port` as the superuser; see [`PgCluster::psql`].
pub(crate) fn psql_at(
    tools: &Tools,
    port: u16,
    database: &str,
    sql: &str,
) -> Result<String, PgTestError> {
    let mut psql = std::process::Command::new(tools.program("psql"));
    psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", SUPERUSER, "-d", database, "-c", sql])
        .stdin(std::process::Stdio::null());
    let output = run(psql, "psql")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Stops the cluster in `dir` and removes `dir` once this test process is gone, even if it was
/// killed before [`Drop`] could (registered before anything is put in `dir`).
fn reap_after_exit(tools: &Tools, dir: &Path) {
    // Twice: an initdb or pg_basebackup that the dead test started may still be writing.
    let stop = format!(
        "{} \"$1\" -D \"$2/data\" stop -m immediate >/dev/null 2>&1; rm -rf \"$2\" 2>/dev/null",
        tools.run_as_words()
    );
    let cleanup = format!("{stop}; sleep 10; {stop}");
    tools.reap_after_exit(
        &cleanup,
        &[tools.program("pg_ctl").as_os_str(), dir.as_os_str()],
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the caller retries on a clash).
pub(crate) fn free_port() -> Result<u16, PgTestError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Polls `done` every 50 ms until it says yes, or gives up after [`PATIENCE`].
pub(crate) fn wait_until(
    what: &str,
    mut done: impl FnMut() -> Result<bool, PgTestError>,
) -> Result<(), PgTestError> {
    let started = Instant::now();
    let mut last_error = String::new();
    while started.elapsed() < PATIENCE {
        match done() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = format!(" (last error: {error})"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(PgTestError::Timeout {
        what: what.to_owned(),
        seconds: PATIENCE.as_secs(),
        detail: last_error,
    })
}

/// `name` as a double-quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
