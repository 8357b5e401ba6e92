//! A real Redis/Valkey server process owned by a test: started on a free loopback port in its own
//! temporary directory, killed and reaped when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::install::{installation, Installation};
use crate::{Client, Error, Reply, Version};

/// How long a server may take to answer its first PING. Loading a large RDB takes longer; tests
/// that do that should poll `INFO persistence` themselves.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// A free port can be taken by someone else before the server binds it; try a few.
const PORT_ATTEMPTS: usize = 5;

/// Options for starting a server; see [`Server::builder`].
pub struct ServerBuilder {
    name: String,
    args: Vec<String>,
    rdb: Option<PathBuf>,
}

impl ServerBuilder {
    /// Adds one command-line argument after the defaults, e.g. `.arg("--maxmemory").arg("10mb")`.
    /// Later arguments win, so this can also override a default.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Copies an RDB file into the server's directory as its dump file before start, so the
    /// server loads it (e.g. a vendored fixture, to compare our decoder with the real loader).
    pub fn load_rdb(mut self, path: impl Into<PathBuf>) -> Self {
        self.rdb = Some(path.into());
        self
    }

    /// Starts the server; panics (failing the test) with an install hint or the server log.
    #[track_caller]
    pub fn start(self) -> Server {
        self.try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(self) -> Result<Server, Error> {
        let install = installation(&self.name)?;
        let binary = install.server_binary()?;
        let version = binary_version(&install, &binary)?;
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            match self.spawn_once(&install, &binary, version) {
                Err(e @ Error::NotReady { .. }) if e.to_string().contains("in use") => last = Some(e),
                other => return other,
            }
        }
        Err(last.expect("at least one attempt"))
    }

    fn spawn_once(&self, install: &Installation, binary: &Path, version: Version) -> Result<Server, Error> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("redtail-{}-", self.name))
            .tempdir()
            .map_err(Error::io("create temp dir"))?;
        let rdb_path = dir.path().join(dbfilename(&self.args));
        if let Some(src) = &self.rdb {
            std::fs::copy(src, &rdb_path).map_err(Error::io(format!("copy {} into the server dir", src.display())))?;
        }
        let port = free_port()?;
        let log_path = dir.path().join("server.log");
        let mut cmd = install.command(binary);
        cmd.args(default_args(port, dir.path(), version)).args(&self.args);
        let child = spawn_logged(cmd, dir.path(), &log_path)?;
        let mut server =
            Server { name: self.name.clone(), child, port, rdb_path, log_path, dir, version, client: Mutex::new(None) };
        server.wait_ready()?;
        server.version = Version::from_info(&server.info("server")).unwrap_or(version);
        Ok(server)
    }
}

/// A running server. Dropping it kills the process (SIGKILL) and removes its directory.
pub struct Server {
    name: String,
    child: Child,
    port: u16,
    dir: TempDir,
    rdb_path: PathBuf,
    log_path: PathBuf,
    version: Version,
    /// The connection behind [`Server::cmd`], opened on first use.
    client: Mutex<Option<Client>>,
}

impl Server {
    /// Starts the named server (`redis-7.4`, `valkey-9.1`, ...; see [`crate::all_servers`]) with
    /// the defaults: loopback, a free port, a temporary `--dir`, no saving, no AOF, and
    /// `DEBUG` enabled and diskless-sync delay 0 where the version has those settings.
    #[track_caller]
    pub fn start(name: &str) -> Server {
        Self::builder(name).start()
    }

    pub fn builder(name: &str) -> ServerBuilder {
        ServerBuilder { name: name.to_string(), args: Vec::new(), rdb: None }
    }

    /// The name it was started by, e.g. `redis-7.4`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's working directory (`--dir`), a temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where `SAVE`/`BGSAVE` write: `dir()/dump.rdb`, or the `--dbfilename` given to the builder.
    pub fn rdb_path(&self) -> &Path {
        &self.rdb_path
    }

    /// The version from `INFO server` (Valkey's own version for Valkey).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The process id, for fault injection (SIGSTOP, SIGKILL).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// A new connection of its own (for blocking commands, replication, pipelining).
    #[track_caller]
    pub fn client(&self) -> Client {
        Client::connect(self.port).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// Runs one command on the server's shared connection; panics on I/O errors, returns server
    /// errors as [`Reply::Error`].
    #[track_caller]
    pub fn cmd(&self, args: &[&[u8]]) -> Reply {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(self.client());
        }
        let result = slot.as_mut().expect("just connected").cmd(args);
        result.unwrap_or_else(|e| {
            *slot = None;
            panic!(
                "{}: {:?}: {e}\n--- server log ---\n{}",
                self.name,
                String::from_utf8_lossy(&args.concat()),
                self.log()
            )
        })
    }

    /// [`Server::cmd`] with string arguments: `server.cmd_str(&["SET", "a", "b"])`.
    #[track_caller]
    pub fn cmd_str(&self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&args)
    }

    /// The text of `INFO section`.
    #[track_caller]
    pub fn info(&self, section: &str) -> String {
        match self.cmd_str(&["INFO", section]) {
            Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("{}: INFO {section} answered {other:?}", self.name),
        }
    }

    /// How many error replies starting with `code` (`MOVED`, `WRONGTYPE`) the server has sent,
    /// from `INFO errorstats` (6.2+).
    #[track_caller]
    pub fn error_count(&self, code: &str) -> u64 {
        let prefix = format!("errorstat_{code}:count=");
        self.info("errorstats").lines().find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok()).unwrap_or(0)
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let client = wait_for_pong(&self.name, &mut self.child, self.port, &self.log_path)?;
        *self.client.get_mut().unwrap_or_else(|p| p.into_inner()) = Some(client);
        Ok(())
    }
}

/// Starts `cmd` in `dir` with no input and its output in a new log file at `log_path`.
pub(crate) fn spawn_logged(mut cmd: Command, dir: &Path, log_path: &Path) -> Result<Child, Error> {
    let log = File::create(log_path).map_err(Error::io(format!("create {}", log_path.display())))?;
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(Error::io("clone log handle"))?)
        .stderr(log)
        .spawn()
        .map_err(|source| Error::Spawn { binary: PathBuf::from(cmd.get_program()), source })
}

/// Waits until the process answers PING on `port` (it may say -LOADING first) and returns that
/// connection; fails with its log if it exits or stays silent too long.
pub(crate) fn wait_for_pong(name: &str, child: &mut Child, port: u16, log_path: &Path) -> Result<Client, Error> {
    let started = Instant::now();
    let not_ready = |reason: String| Error::NotReady {
        name: name.to_string(),
        reason,
        log: std::fs::read_to_string(log_path).unwrap_or_default(),
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(not_ready(format!("exited with {status}")));
        }
        if let Ok(mut client) = Client::connect(port) {
            match client.cmd_str(&["PING"]) {
                Ok(Reply::Status(s)) if s == "PONG" => return Ok(client),
                // -LOADING while it reads a dump; keep waiting.
                Ok(_) | Err(_) => {}
            }
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(not_ready(format!("no PONG on port {port} within {READY_TIMEOUT:?}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flags every test server gets. Flags a version does not know would stop it from starting,
/// so the optional ones depend on the version.
fn default_args(port: u16, dir: &Path, version: Version) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.to_string_lossy(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let redis_like_7 = version.product == crate::Product::Valkey || version.at_least(7, 0, 0);
    if redis_like_7 {
        // DEBUG POPULATE/RELOAD/OBJECT are refused by default since 7.0.
        args.extend(["--enable-debug-command".into(), "yes".into()]);
    }
    if version.product == crate::Product::Valkey || version.at_least(2, 8, 18) {
        // Since 7.0 diskless sync is the default, with a 5 s delay before every full sync.
        args.extend(["--repl-diskless-sync-delay".into(), "0".into()]);
    }
    args
}

/// The RDB file name given with `--dbfilename`, else the default `dump.rdb`.
fn dbfilename(args: &[String]) -> String {
    args.iter()
        .rposition(|a| a == "--dbfilename")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "dump.rdb".into())
}

/// A loopback port nobody listens on right now (the OS picks it; we release it for the server).
pub(crate) fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::io("bind 127.0.0.1:0"))?;
    Ok(listener.local_addr().map_err(Error::io("local_addr"))?.port())
}

/// The version of the named server, from `--version`, without starting it.
pub(crate) fn installed_version(name: &str) -> Result<Version, Error> {
    let install = installation(name)?;
    binary_version(&install, &install.server_binary()?)
}

/// The version, from `--version`, needed before start to choose flags.
fn binary_version(install: &Installation, binary: &Path) -> Result<Version, Error> {
    let out = install
        .command(binary)
        .arg("--version")
        .output()
        .map_err(|source| Error::Spawn { binary: binary.to_path_buf(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Version::from_version_output(&text).ok_or_else(|| Error::NotReady {
        name: install.name().to_string(),
        reason: format!("cannot parse the output of {} --version", binary.display()),
        log: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbfilename_defaults_and_follows_the_last_flag() {
        assert_eq!(dbfilename(&[]), "dump.rdb");
        let args: Vec<String> = ["--dbfilename", "a.rdb", "--dbfilename", "b.rdb"].map(String::from).into();
        assert_eq!(dbfilename(&args), "b.rdb");
    }

    #[test]
    fn old_servers_get_no_flags_they_do_not_know() {
        let v = |major, minor, patch| Version { product: crate::Product::Redis, major, minor, patch };
        let has = |args: &[String], flag: &str| args.iter().any(|a| a == flag);
        let old = default_args(1, Path::new("/tmp"), v(2, 8, 17));
        assert!(!has(&old, "--enable-debug-command") && !has(&old, "--repl-diskless-sync-delay"));
        let new = default_args(1, Path::new("/tmp"), v(7, 0, 15));
        assert!(has(&new, "--enable-debug-command") && has(&new, "--repl-diskless-sync-delay"));
    }
}
