//! Helpers shared by the CLI tests.

#![allow(dead_code)]

pub mod compare;
pub mod follow;
pub mod metrics;
pub mod tls;
pub mod transfer;
pub mod writer;
