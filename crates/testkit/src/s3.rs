//! [`S3Store`]: a local S3 server (moto) with one bucket, for tansu's `s3://` storage, which
//! is the one storage of the installed tansu that outlives the broker process. Killed when
//! dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::install::installation;
use crate::server::free_port;
use crate::Error;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct S3Store {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl S3Store {
    /// The bucket the broker's data goes to.
    pub const BUCKET: &'static str = "tansu";

    #[track_caller]
    pub fn start() -> S3Store {
        Self::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start() -> Result<S3Store, Error> {
        let install = installation("moto")?;
        let binary = install.tool("moto_server")?;
        let dir = tempfile::Builder::new().prefix("redtail-s3-").tempdir().map_err(Error::io("create temp dir"))?;
        let port = free_port()?;
        let log_path = dir.path().join("moto.log");
        let mut cmd = std::process::Command::new(&binary);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let child = crate::server::spawn_logged(cmd, dir.path(), &log_path)?;
        let mut store = S3Store { child, port, _dir: dir };
        let started = Instant::now();
        // The bucket is created with a plain unsigned PUT, which moto accepts; its 200 is also
        // the sign that the server is ready.
        while put_bucket(port).is_err() {
            let exited = store.child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > READY_TIMEOUT {
                let reason = exited.map_or("no answer".to_string(), |s| format!("exited with {s}"));
                return Err(Error::NotReady {
                    name: "moto (S3)".into(),
                    reason,
                    log: std::fs::read_to_string(&log_path).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(store)
    }

    /// The environment a client (tansu) needs to use this store: the endpoint, plain HTTP, and
    /// credentials, which moto accepts whatever they are.
    pub fn client_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "redtail".into()),
            ("AWS_SECRET_ACCESS_KEY", "redtail".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// `PUT /BUCKET`, which creates the bucket (or finds it there): `Ok` on a 200.
fn put_bucket(port: u16) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "PUT /{} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        S3Store::BUCKET
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(answer.lines().next().unwrap_or_default().to_string()))
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
