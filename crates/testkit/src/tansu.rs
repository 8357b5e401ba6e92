//! A Kafka-compatible broker (tansu) for sink tests; killed when dropped.
//!
//! By default it keeps its data in memory, so a restarted broker starts empty. With
//! [`BrokerBuilder::storage`] and an [`S3Store`] it keeps them in S3, so a test can stop the
//! broker and start it again on the same port with its topics, records and producer state.

use std::fs::File;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::install::{installation, Installation};
use crate::s3::S3Store;
use crate::server::free_port;
use crate::Error;

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running tansu broker.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    advertised_port: u16,
    /// `--storage-engine`, and the environment that reaches it.
    storage: String,
    env: Vec<(String, String)>,
    binary: PathBuf,
    install: Installation,
    log_path: PathBuf,
    dir: TempDir,
}

/// How to start a [`Broker`]: which ports, which storage.
#[derive(Default)]
pub struct BrokerBuilder {
    port: Option<u16>,
    advertised_port: Option<u16>,
    storage: Option<(String, Vec<(String, String)>)>,
}

impl BrokerBuilder {
    /// Listens on `port` (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Tells clients to connect to `port` (a proxy in front of the broker), so that every
    /// connection, not just the first, goes through it. Default: the broker's own port.
    pub fn advertised_port(mut self, port: u16) -> Self {
        self.advertised_port = Some(port);
        self
    }

    /// Keeps the data in `store` (bucket `tansu`), so that it survives [`Broker::restart`].
    pub fn storage(mut self, store: &S3Store) -> Self {
        self.storage = Some((format!("s3://{}/", S3Store::BUCKET), store.client_env()));
        self
    }

    #[track_caller]
    pub fn start(self) -> Broker {
        self.try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(self) -> Result<Broker, Error> {
        let install = installation("tansu")?;
        let binary = install.server_binary()?;
        let dir = tempfile::Builder::new().prefix("redtail-tansu-").tempdir().map_err(Error::io("create temp dir"))?;
        let port = match self.port {
            Some(p) => p,
            None => free_port()?,
        };
        let (storage, env) = self.storage.unwrap_or_else(|| ("memory://tansu/".to_string(), Vec::new()));
        let log_path = dir.path().join("tansu.log");
        let mut broker = Broker {
            child: None,
            port,
            advertised_port: self.advertised_port.unwrap_or(port),
            storage,
            env,
            binary,
            install,
            log_path,
            dir,
        };
        broker.spawn()?;
        Ok(broker)
    }
}

impl Broker {
    /// Starts `tansu broker` on a free loopback port with memory storage; panics with an
    /// install hint if missing.
    #[track_caller]
    pub fn start() -> Broker {
        Self::builder().start()
    }

    pub fn try_start() -> Result<Broker, Error> {
        Self::builder().try_start()
    }

    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    /// `127.0.0.1:PORT`, the form Kafka clients take as `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the broker (SIGKILL: no chance to finish anything); [`Broker::restart`] starts it
    /// again.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port with the same storage (stopping it first if
    /// it runs). With memory storage it comes back empty.
    #[track_caller]
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Creates a topic explicitly: auto-created topics get several partitions.
    #[track_caller]
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = self
            .command()
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

    /// The broker's output, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn command(&self) -> std::process::Command {
        let mut cmd = self.install.command(&self.binary);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let listen = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://127.0.0.1:{}", self.advertised_port);
        let log =
            File::options().create(true).append(true).open(&self.log_path).map_err(Error::io("open broker log"))?;
        let child = self
            .command()
            .args(["broker", "--listener-url", &listen, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", &self.storage])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(Error::io("clone log handle"))?)
            .stderr(log)
            .spawn()
            .map_err(|source| Error::Spawn { binary: self.binary.clone(), source })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
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
        self.stop();
    }
}
