//! Scraping `redtail follow --metrics-addr` the way Prometheus does, and reading values out of
//! the text exposition format with plain line parsing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A loopback address with a port free right now, for `--metrics-addr`.
pub fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// `GET path` on `addr`: (status line, body), or `None` while nothing listens there yet.
pub fn get(addr: &str, path: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    Some((head.lines().next().unwrap_or_default().to_string(), body.to_string()))
}

/// The exposition text of `/metrics`, which must answer 200.
pub fn scrape(addr: &str) -> Scrape {
    let (status, body) = get(addr, "/metrics").unwrap_or_else(|| panic!("nothing listens at {addr}"));
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    Scrape(body)
}

pub struct Scrape(pub String);

impl Scrape {
    /// The value of the sample named exactly `series` (with its labels, if any:
    /// `redtail_events_total{kind="command"}`).
    pub fn value(&self, series: &str) -> Option<f64> {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
    }

    /// Like `value`, for a sample that must be there.
    #[track_caller]
    pub fn get(&self, series: &str) -> f64 {
        self.value(series).unwrap_or_else(|| panic!("no {series} in\n{}", self.0))
    }
}
