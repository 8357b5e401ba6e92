//! A TCP fault proxy: sits between a client and a real server and misbehaves on demand, so
//! tests can show what a client does when the network does.
//!
//! No toxiproxy or `tc netem` is available on the machines this runs on, and a proxy in the
//! test process can be told exactly when to fail ("cut the third connection after 40 bytes"),
//! which keeps fault tests deterministic.
//!
//! ```no_run
//! use testkit::{Direction, FaultProxy, Server};
//! let server = Server::start("redis-7.0");
//! let proxy = FaultProxy::start(server.port());
//! proxy.cut_after(Direction::Downstream, 100); // every connection, 100 bytes from now
//! proxy.heal();
//! ```
//!
//! Faults are proxy-wide and apply to live connections and new ones alike, except the
//! scheduled cuts, which are taken one per new connection. Plain threads, two per connection:
//! the test kit's API stays synchronous, and sockets poll their fault state every few
//! milliseconds (read timeouts), which is also what lets a reset close a socket another thread
//! is blocked on.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;

/// How often a blocked socket looks at the fault state again.
const POLL: Duration = Duration::from_millis(10);
const CHUNK: usize = 64 << 10;

/// Which way bytes flow through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    Upstream,
    /// From the server to the client.
    Downstream,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Upstream => 0,
            Direction::Downstream => 1,
        }
    }
}

/// The faults in force. `heal` resets it to the default: a transparent proxy.
#[derive(Debug, Default)]
struct Faults {
    delay: Option<Duration>,
    /// Bytes per second, per connection and direction.
    throttle: Option<u64>,
    blackhole: bool,
    /// Per direction: cut a connection after this many bytes, counted from the later of its
    /// start and `cut_epoch`.
    cut: [Option<u64>; 2],
    cut_epoch: u64,
    /// One per new connection, in order: cut it after so many bytes from its start.
    scheduled: VecDeque<(Direction, u64)>,
}

struct Shared {
    upstream_port: Mutex<u16>,
    faults: Mutex<Faults>,
    stop: AtomicBool,
    connections: Mutex<Vec<Weak<Connection>>>,
    accepted: AtomicU64,
    cuts: AtomicU64,
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One proxied connection: the client's socket and the server's.
struct Connection {
    sockets: [TcpStream; 2],
    /// A scheduled cut for this connection only.
    own_cut: Option<(Direction, u64)>,
    closed: AtomicBool,
    reset: AtomicBool,
}

impl Connection {
    /// `Upstream` reads from the client and writes to the server.
    fn ends(&self, dir: Direction) -> (&TcpStream, &TcpStream) {
        match dir {
            Direction::Upstream => (&self.sockets[0], &self.sockets[1]),
            Direction::Downstream => (&self.sockets[1], &self.sockets[0]),
        }
    }

    /// Closes both sides with a FIN, waking both pumps.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for s in &self.sockets {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Marks the connection for a reset: linger 0 makes the final close send RST instead of
    /// FIN. The close happens when both pumps have let go of the sockets.
    fn reset(&self) {
        for s in &self.sockets {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
        self.reset.store(true, Ordering::SeqCst);
    }

    fn done(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.reset.load(Ordering::SeqCst)
    }
}

/// A running proxy on a free loopback port. Dropping it stops it and closes every connection.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a transparent proxy to `127.0.0.1:upstream_port`.
    #[track_caller]
    pub fn start(upstream_port: u16) -> FaultProxy {
        Self::try_start(upstream_port).unwrap_or_else(|e| panic!("fault proxy: {e}"))
    }

    pub fn try_start(upstream_port: u16) -> Result<FaultProxy, Error> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::io("bind the proxy"))?;
        let port = listener.local_addr().map_err(Error::io("proxy address"))?.port();
        listener.set_nonblocking(true).map_err(Error::io("set the proxy listener non-blocking"))?;
        let shared = Arc::new(Shared {
            upstream_port: Mutex::new(upstream_port),
            faults: Mutex::new(Faults::default()),
            stop: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("proxy-{port}"))
                .spawn(move || accept_loop(listener, shared))
                .map_err(Error::io("spawn the proxy thread"))?
        };
        Ok(FaultProxy { port, shared, acceptor: Some(acceptor) })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends new connections to another server from now on (a restarted or replaced master at
    /// the same address). Live connections stay where they are.
    pub fn set_upstream(&self, port: u16) {
        *self.shared.upstream_port.lock().unwrap_or_else(|p| p.into_inner()) = port;
    }

    /// Holds every chunk this long before forwarding it, in both directions.
    pub fn delay(&self, per_chunk: Duration) {
        self.shared.faults().delay = Some(per_chunk);
    }

    /// Forwards at most this many bytes per second, per connection and direction.
    pub fn throttle(&self, bytes_per_second: u64) {
        self.shared.faults().throttle = Some(bytes_per_second.max(1));
    }

    /// Closes every connection, both sides, once it has carried `bytes` more bytes in `dir`
    /// (counted from now, or from its start for later connections). Stays in force until
    /// [`FaultProxy::heal`].
    pub fn cut_after(&self, dir: Direction, bytes: u64) {
        let mut faults = self.shared.faults();
        faults.cut[dir.index()] = Some(bytes);
        faults.cut_epoch += 1;
    }

    /// Cuts the next connections, one plan each in order: the first new connection is closed
    /// after `plans[0].1` bytes in `plans[0].0` from its start, and so on. Connections after
    /// the last plan are left alone. For tests that fail a client at chosen points of its
    /// successive connections (the handshake, then the snapshot, then the stream).
    pub fn schedule_cuts(&self, plans: &[(Direction, u64)]) {
        self.shared.faults().scheduled.extend(plans.iter().copied());
    }

    /// Stops forwarding in both directions without closing anything, like a network
    /// partition: bytes wait (in the proxy and the kernel's buffers) until [`FaultProxy::heal`].
    pub fn blackhole(&self) {
        self.shared.faults().blackhole = true;
    }

    /// Resets every live connection: both sides get an RST (SO_LINGER 0), not a FIN.
    pub fn reset(&self) {
        for conn in self.live() {
            conn.reset();
        }
    }

    /// Clears every fault (including cuts still scheduled); held bytes flow again.
    pub fn heal(&self) {
        let mut faults = self.shared.faults();
        let epoch = faults.cut_epoch;
        *faults = Faults { cut_epoch: epoch + 1, ..Faults::default() };
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections cut so far (by [`FaultProxy::cut_after`] or [`FaultProxy::schedule_cuts`]).
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// Scheduled cuts not yet taken by a connection.
    pub fn scheduled_cuts(&self) -> usize {
        self.shared.faults().scheduled.len()
    }

    fn live(&self) -> Vec<Arc<Connection>> {
        let mut conns = self.shared.connections.lock().unwrap_or_else(|p| p.into_inner());
        conns.retain(|w| w.strong_count() > 0);
        conns.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for conn in self.live() {
            conn.close();
        }
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let own_cut = shared.faults().scheduled.pop_front();
                let port = *shared.upstream_port.lock().unwrap_or_else(|p| p.into_inner());
                let _ = client.set_nonblocking(false);
                match TcpStream::connect(("127.0.0.1", port)) {
                    Ok(server) => start_connection(client, server, own_cut, &shared),
                    // The server is down: the client sees a reset, as from a refused connect.
                    Err(_) => {
                        let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(2)),
            Err(_) => thread::sleep(POLL),
        }
    }
}

fn start_connection(client: TcpStream, server: TcpStream, own_cut: Option<(Direction, u64)>, shared: &Arc<Shared>) {
    for s in [&client, &server] {
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(POLL));
        let _ = s.set_write_timeout(Some(POLL));
    }
    let conn = Arc::new(Connection { sockets: [client, server], own_cut, closed: false.into(), reset: false.into() });
    shared.connections.lock().unwrap_or_else(|p| p.into_inner()).push(Arc::downgrade(&conn));
    for dir in [Direction::Upstream, Direction::Downstream] {
        let (conn, shared) = (conn.clone(), shared.clone());
        let _ = thread::Builder::new().name(format!("proxy-{dir:?}")).spawn(move || pump(&conn, &shared, dir));
    }
}

/// Forwards one direction of one connection until either side closes or a fault ends it.
fn pump(conn: &Connection, shared: &Shared, dir: Direction) {
    let (mut src, mut dst) = conn.ends(dir);
    let mut buf = vec![0; CHUNK];
    // Bytes since the connection started (for its own scheduled cut) and since the last
    // `cut_after` (for the proxy-wide one).
    let mut total = 0u64;
    let (mut epoch, mut since_epoch) = (shared.faults().cut_epoch, 0u64);
    let own_cut = conn.own_cut.filter(|(d, _)| *d == dir).map(|(_, n)| n);
    loop {
        if conn.done() || shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let (throttle, blackhole, cut) = {
            let f = shared.faults();
            if f.cut_epoch != epoch {
                (epoch, since_epoch) = (f.cut_epoch, 0);
            }
            (f.throttle, f.blackhole, f.cut[dir.index()])
        };
        if blackhole {
            thread::sleep(POLL);
            continue;
        }
        // Read no further than the nearest cut, so it falls on an exact byte.
        let mut room = CHUNK as u64;
        if let Some(n) = own_cut {
            room = room.min(n.saturating_sub(total));
        }
        if let Some(n) = cut {
            room = room.min(n.saturating_sub(since_epoch));
        }
        if let Some(rate) = throttle {
            // About 20 chunks a second, so the rate is smooth at test time scales.
            room = room.min((rate / 20).max(1));
        }
        if room == 0 {
            shared.cuts.fetch_add(1, Ordering::SeqCst);
            conn.close();
            break;
        }
        let n = match src.read(&mut buf[..room as usize]) {
            Ok(0) => {
                conn.close();
                break;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue
            }
            Err(_) => {
                conn.close();
                break;
            }
        };
        let started = Instant::now();
        // Looked up again after the read, which may have waited: a fault set or healed
        // meanwhile applies to these bytes.
        let (delay, throttle, cut) = {
            let f = shared.faults();
            if f.cut_epoch != epoch {
                (epoch, since_epoch) = (f.cut_epoch, 0);
            }
            (f.delay, f.throttle, f.cut[dir.index()])
        };
        let mut keep = n as u64;
        if let Some(limit) = own_cut {
            keep = keep.min(limit.saturating_sub(total));
        }
        if let Some(limit) = cut {
            keep = keep.min(limit.saturating_sub(since_epoch));
        }
        if let Some(d) = delay {
            thread::sleep(d);
        }
        // A blackhole set while these bytes were read holds them too.
        while shared.faults().blackhole && !conn.done() {
            thread::sleep(POLL);
        }
        if write_all(&mut dst, &buf[..keep as usize], conn).is_err() {
            conn.close();
            break;
        }
        total += keep;
        since_epoch += keep;
        if keep < n as u64 {
            // The bytes past the cut go down with the connection.
            shared.cuts.fetch_add(1, Ordering::SeqCst);
            conn.close();
            break;
        }
        if let Some(rate) = throttle {
            let due = Duration::from_secs_f64(n as f64 / rate as f64);
            if let Some(rest) = due.checked_sub(started.elapsed()) {
                thread::sleep(rest);
            }
        }
    }
}

/// `write_all` that gives up when the connection is reset or closed meanwhile.
fn write_all(dst: &mut &TcpStream, mut data: &[u8], conn: &Connection) -> std::io::Result<()> {
    while !data.is_empty() {
        if conn.done() {
            return Err(ErrorKind::ConnectionAborted.into());
        }
        match dst.write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
