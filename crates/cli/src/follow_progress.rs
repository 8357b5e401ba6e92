//! A progress bar on stderr for the snapshot a master sends, shown only to a person (stderr
//! is a terminal), never in logs or pipes. A disk-based transfer announces its size, so it
//! gets a bar; a diskless one does not, so it gets a counter.
//!
//! The position is the RDB offset of the last key begun, which is what the handler sees of
//! the transfer; it moves in steps of one key.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct SnapshotProgress {
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl SnapshotProgress {
    pub fn for_stderr() -> Self {
        SnapshotProgress { enabled: std::io::stderr().is_terminal(), bar: None }
    }

    /// A transfer of `size` bytes begins (`None`: diskless, size unknown).
    pub fn begin(&mut self, size: Option<u64>) {
        self.finish();
        if !self.enabled {
            return;
        }
        let (bar, template) = match size {
            Some(total) => {
                (ProgressBar::new(total), "snapshot {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            }
            None => (ProgressBar::new_spinner(), "snapshot {spinner} {bytes} {bytes_per_sec} (diskless)"),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    /// The transfer has reached RDB byte `offset`.
    pub fn set(&self, offset: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(offset);
        }
    }

    /// The transfer ended (complete or cut short).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
