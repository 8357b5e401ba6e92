//! A Redis target of either kind behind one type, so the follower wires one thing: a
//! standalone server ([`RedisSink`]) or a cluster ([`RedisClusterSink`]), chosen by asking
//! the server (`INFO cluster`) when connecting.

use crate::redis::{command_sink, RedisConfig, RedisSink, TargetInfo};
use crate::redis_cluster::{discover, RedisClusterSink};
use crate::Error;

pub enum RedisTarget {
    Standalone(RedisSink),
    /// Boxed: it holds the connection settings for masters it may meet later.
    Cluster(Box<RedisClusterSink>),
}

/// The same call on whichever kind it is.
macro_rules! either {
    ($self:expr, $sink:ident => $call:expr) => {
        match $self {
            RedisTarget::Standalone($sink) => $call,
            RedisTarget::Cluster($sink) => $call,
        }
    };
}

impl RedisTarget {
    /// Connects to the server, or to every master if it is a cluster node; `start` is the
    /// offset already delivered.
    pub fn connect(config: RedisConfig, start: u64) -> Result<RedisTarget, Error> {
        Ok(match discover(&config)? {
            Some(map) => RedisTarget::Cluster(Box::new(RedisClusterSink::connect(config, map, start)?)),
            None => RedisTarget::Standalone(RedisSink::connect(config, start)?),
        })
    }

    pub fn target(&self) -> &TargetInfo {
        either!(self, s => s.target())
    }

    pub fn keys_at_start(&self) -> u64 {
        either!(self, s => s.keys_at_start())
    }

    pub fn address(&self) -> &str {
        either!(self, s => s.address())
    }

    pub fn skipped(&self) -> u64 {
        either!(self, s => s.skipped())
    }

    pub fn send_commands(&mut self, commands: &[u8]) -> Result<(), Error> {
        either!(self, s => s.send_commands(commands))
    }

    pub fn mark(&mut self, offset: u64) -> Result<(), Error> {
        either!(self, s => s.mark(offset))
    }

    pub fn wait_delivered(&mut self) -> Result<u64, Error> {
        either!(self, s => s.wait_delivered())
    }

    pub fn poll(&mut self) -> Result<(), Error> {
        either!(self, s => s.poll())
    }

    pub fn acknowledged(&self) -> u64 {
        either!(self, s => s.acknowledged())
    }
}

command_sink!(RedisTarget);
