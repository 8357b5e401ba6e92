//! A real Redis Sentinel (`redis-server FILE --sentinel`) watching one master, for failover
//! tests. Sentinel insists on a writable config file of its own, which it rewrites, so this
//! writes one rather than passing flags as [`Server`](crate::Server) does.

use std::path::PathBuf;
use std::process::Child;

use tempfile::TempDir;

use crate::install::installation;
use crate::server::{free_port, spawn_logged, wait_for_pong};
use crate::{Client, Error, Reply};

/// A running sentinel. Dropping it kills the process and removes its directory.
pub struct Sentinel {
    child: Child,
    port: u16,
    log_path: PathBuf,
    _dir: TempDir,
}

impl Sentinel {
    /// Starts a sentinel of the named server version (`redis-7.0`) monitoring the master on
    /// loopback `master_port` as `master_name`, with a quorum of one and short timeouts: the
    /// master is judged down after 0.5 s, so a failover takes a few seconds.
    #[track_caller]
    pub fn start(server: &str, master_name: &str, master_port: u16) -> Sentinel {
        Self::try_start(server, master_name, master_port).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(server: &str, master_name: &str, master_port: u16) -> Result<Sentinel, Error> {
        Self::try_start_with(server, master_name, master_port, "")
    }

    /// [`Sentinel::start`] with more lines for its config file (a `tls-port` and its files,
    /// say). Its plain port stays open for the test's own questions.
    #[track_caller]
    pub fn start_with(server: &str, master_name: &str, master_port: u16, config: &str) -> Sentinel {
        Self::try_start_with(server, master_name, master_port, config).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start_with(server: &str, master_name: &str, master_port: u16, extra: &str) -> Result<Sentinel, Error> {
        let install = installation(server)?;
        let binary = install.server_binary()?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("redtail-sentinel-{server}-"))
            .tempdir()
            .map_err(Error::io("create temp dir"))?;
        let port = free_port()?;
        let config = format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {master_name} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {master_name} 500\n\
             sentinel failover-timeout {master_name} 5000\n{extra}",
            dir = dir.path().display()
        );
        let config_path = dir.path().join("sentinel.conf");
        std::fs::write(&config_path, config).map_err(Error::io("write sentinel.conf"))?;
        let log_path = dir.path().join("sentinel.log");
        let mut cmd = install.command(&binary);
        cmd.arg(&config_path).arg("--sentinel");
        let mut child = spawn_logged(cmd, dir.path(), &log_path)?;
        let name = format!("{server} sentinel");
        if let Err(e) = wait_for_pong(&name, &mut child, port, &log_path) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Sentinel { child, port, log_path, _dir: dir })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, as `--sentinel` takes it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The master's port as this sentinel sees it now (`SENTINEL get-master-addr-by-name`).
    #[track_caller]
    pub fn master_port(&self, master_name: &str) -> Option<u16> {
        let mut client = Client::connect(self.port).unwrap_or_else(|e| panic!("sentinel: {e}"));
        match client.cmd_str(&["SENTINEL", "get-master-addr-by-name", master_name]) {
            Ok(Reply::Array(items)) => match items.as_slice() {
                [_, Reply::Bulk(port)] => String::from_utf8_lossy(port).parse().ok(),
                other => panic!("sentinel answered {other:?}"),
            },
            Ok(Reply::Nil) => None,
            other => panic!("sentinel answered {other:?}"),
        }
    }

    /// How many replicas of the master the sentinel has found (it learns them from the
    /// master's `INFO`, and promotes only one it knows).
    #[track_caller]
    pub fn known_replicas(&self, master_name: &str) -> usize {
        let mut client = Client::connect(self.port).unwrap_or_else(|e| panic!("sentinel: {e}"));
        match client.cmd_str(&["SENTINEL", "replicas", master_name]) {
            Ok(Reply::Array(items)) => items.len(),
            other => panic!("sentinel answered {other:?}"),
        }
    }

    /// From now on, clients must `AUTH` with `password` (the default user's, as `requirepass`
    /// sets it; Sentinel has ACLs from 6.2). [`Sentinel::master_port`] and
    /// [`Sentinel::known_replicas`] do not authenticate, so they stop working.
    #[track_caller]
    pub fn require_password(&self, password: &str) {
        let mut client = Client::connect(self.port).unwrap_or_else(|e| panic!("sentinel: {e}"));
        match client.cmd_str(&["ACL", "SETUSER", "default", "resetpass", &format!(">{password}")]) {
            Ok(Reply::Status(s)) if s == "OK" => {}
            other => panic!("sentinel answered ACL SETUSER with {other:?}"),
        }
    }

    /// Everything the sentinel has logged so far (its view of the failover).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
