//! A progress bar on stderr for long decodes. Shown only to a person (stderr is a terminal)
//! and only for inputs big enough to take a noticeable time, so that it never pollutes logs
//! or pipes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Smaller inputs decode in well under a second.
const MIN_SIZE: u64 = 8 * 1024 * 1024;

pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for an input of `total` bytes (unknown for pipes, which get none).
    pub fn for_input(total: Option<u64>) -> Self {
        let Some(total) = total.filter(|&t| t > MIN_SIZE) else { return Progress(None) };
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    pub fn set(&self, offset: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(offset);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
