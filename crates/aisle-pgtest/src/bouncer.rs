//! A PgBouncer of its own in front of a test cluster, in transaction pooling mode.
//!
//! Transaction mode is the one that breaks code relying on session state (a `SET`, a session
//! advisory lock, a prepared statement used across transactions): consecutive transactions of
//! one client connection may run on different server connections. A small pool makes that
//! happen often.

use crate::tools::{find_on_path, run, Tools};
use crate::{free_port, psql_at, wait_until, PgCluster, PgTestError, SUPERUSER};
use std::path::PathBuf;

/// Settings for [`PgBouncer::start_with`].
#[derive(Clone, Debug)]
pub struct PgBouncerOptions {
    /// Server connections per database and user (`default_pool_size`).
    pub pool_size: u32,
    /// `pool_mode`: `transaction` unless a test wants `session` or `statement`.
    pub pool_mode: &'static str,
}

impl Default for PgBouncerOptions {
    fn default() -> Self {
        PgBouncerOptions {
            pool_size: 4,
            pool_mode: "transaction",
        }
    }
}

/// A running `pgbouncer` (from the `pgbouncer` package) with its own ini in a temp dir.
/// Every database of the cluster is reachable through it by name. Dropping it stops it.
#[derive(Debug)]
pub struct PgBouncer {
    tools: Tools,
    dir: tempfile::TempDir,
    port: u16,
}

impl PgBouncer {
    /// Starts a PgBouncer in transaction mode, pool size 4, in front of `cluster`.
    pub fn start(cluster: &PgCluster) -> Result<PgBouncer, PgTestError> {
        PgBouncer::start_with(cluster, PgBouncerOptions::default())
    }

    pub fn start_with(
        cluster: &PgCluster,
        options: PgBouncerOptions,
    ) -> Result<PgBouncer, PgTestError> {
        let program = find_on_path("pgbouncer").ok_or(PgTestError::NotInstalled {
            programs: "pgbouncer",
            package: "pgbouncer",
        })?;
        let tools = Tools::find()?;
        let mut last_error = None;
        for _ in 0..5 {
            let bouncer = PgBouncer {
                tools: tools.clone(),
                dir: tempfile::Builder::new()
                    .prefix("aisle-pgbouncer-")
                    .tempdir()?,
                port: free_port()?,
            };
            // Once this test process is gone, even killed: stop it and remove the directory.
            tools.reap_after_exit(
                "kill -TERM \"$(cat \"$1/pgbouncer.pid\" 2>/dev/null)\" 2>/dev/null; sleep 1; rm -rf \"$1\"",
                &[bouncer.dir.path().as_os_str()],
            );
            bouncer.write_config(cluster, &options)?;
            tools.hand_over(bouncer.dir.path())?;
            let mut command = tools.server_command(&program, bouncer.dir.path());
            command.arg("-d").arg(bouncer.ini_path());
            match run(command, "pgbouncer").and_then(|_| bouncer.wait_for_listener()) {
                Ok(()) => return Ok(bouncer),
                // Another process took the port between our probe and pgbouncer's bind.
                Err(error) if bouncer.log().contains("Address already in use") => {
                    last_error = Some(error)
                }
                Err(error) => return Err(with_log(error, &bouncer.log())),
            }
        }
        Err(last_error.expect("five attempts were made"))
    }

    /// `postgres://aisle@127.0.0.1:PORT/DB` through the bouncer.
    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.base_url())
    }

    /// `postgres://aisle@127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` with `psql` through the bouncer; see [`PgCluster::psql`].
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgTestError> {
        psql_at(&self.tools, self.port, database, sql)
    }

    /// PgBouncer's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    fn ini_path(&self) -> PathBuf {
        self.dir.path().join("pgbouncer.ini")
    }

    fn write_config(
        &self,
        cluster: &PgCluster,
        options: &PgBouncerOptions,
    ) -> Result<(), PgTestError> {
        let dir = self.dir.path().display();
        // Trust still needs the user listed in auth_file. `*` forwards any database name.
        std::fs::write(
            self.dir.path().join("userlist.txt"),
            format!("\"{SUPERUSER}\" \"\"\n"),
        )?;
        let ini = format!(
            "[databases]\n\
             * = host=127.0.0.1 port={cluster_port}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir = {dir}\n\
             auth_type = trust\n\
             auth_file = {dir}/userlist.txt\n\
             admin_users = {SUPERUSER}\n\
             pool_mode = {pool_mode}\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 500\n\
             logfile = {dir}/pgbouncer.log\n\
             pidfile = {dir}/pgbouncer.pid\n\
             ignore_startup_parameters = extra_float_digits,options\n",
            cluster_port = cluster.port(),
            port = self.port,
            pool_mode = options.pool_mode,
            pool_size = options.pool_size,
        );
        std::fs::write(self.ini_path(), ini)?;
        Ok(())
    }

    fn wait_for_listener(&self) -> Result<(), PgTestError> {
        wait_until("pgbouncer to listen", || {
            Ok(std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok())
        })
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGTERM (immediate shutdown), then waits for the process to be gone.
    fn shut_down(&self) {
        let Some(pid) = self.pid() else { return };
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = wait_until("pgbouncer to exit", || {
            let mut probe = std::process::Command::new("kill");
            probe
                .args(["-0", &pid.to_string()])
                .stderr(std::process::Stdio::null());
            Ok(!probe.status()?.success())
        });
        let _ = std::fs::remove_file(self.dir.path().join("pgbouncer.pid"));
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn with_log(error: PgTestError, log: &str) -> PgTestError {
    match error {
        PgTestError::Failed {
            program,
            status,
            output,
        } => PgTestError::Failed {
            program,
            status,
            output: format!("{output}\npgbouncer log:\n{log}"),
        },
        PgTestError::Timeout {
            what,
            seconds,
            detail,
        } => PgTestError::Timeout {
            what,
            seconds,
            detail: format!("{detail}\npgbouncer log:\n{log}"),
        },
        error => error,
    }
}
