//! A Kafka-compatible broker (tansu, memory storage) for sink tests; killed when dropped.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::install::{installation, Installation};
use crate::Error;

const READY_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Broker {
    child: Child,
    port: u16,
    binary: PathBuf,
    install: Installation,
    log_path: PathBuf,
    _dir: TempDir,
}

impl Broker {
    /// Starts `tansu broker` on a free loopback port; panics with an install hint if missing.
    #[track_caller]
    pub fn start() -> Broker {
        Self::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start() -> Result<Broker, Error> {
        let install = installation("tansu")?;
        let binary = install.server_binary()?;
        let dir = tempfile::Builder::new().prefix("redtail-tansu-").tempdir().map_err(Error::io("create temp dir"))?;
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(Error::io("pick a free port"))?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log_path = dir.path().join("tansu.log");
        let log = File::create(&log_path).map_err(Error::io("create broker log"))?;
        let child = install
            .command(&binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(Error::io("clone log handle"))?)
            .stderr(log)
            .spawn()
            .map_err(|source| Error::Spawn { binary: binary.clone(), source })?;
        let mut broker = Broker { child, port, binary, install, log_path, _dir: dir };
        broker.wait_ready()?;
        Ok(broker)
    }

    /// `127.0.0.1:PORT`, the form Kafka clients take as `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a topic explicitly: auto-created topics get several partitions.
    #[track_caller]
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = self
            .install
            .command(&self.binary)
            .args(["topic", "create", "--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--partitions", &partitions.to_string(), name])
            .output()
            .unwrap_or_else(|e| panic!("tansu topic create {name}: {e}"));
        assert!(
            out.status.success(),
            "tansu topic create {name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::NotReady {
                    name: "tansu".into(),
                    reason: format!("exited with {status}"),
                    log: self.log(),
                });
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(Error::NotReady {
                    name: "tansu".into(),
                    reason: "port never opened".into(),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
