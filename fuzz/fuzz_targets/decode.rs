//! Any byte string must decode to events or a positioned error: never a panic, a hang or an
//! allocation out of proportion to the input. Each input is decoded twice, whole and in small
//! pieces, and both must agree, which checks that the restartable units really restart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb::{Options, Parser, Step};

/// Renders events so that the two feeding strategies can be compared.
fn run(data: &[u8], chunk: usize, known_len: bool) -> Result<Vec<String>, u64> {
    let verify_checksum = data.first().is_some_and(|b| b & 1 == 0);
    let mut p = Parser::new(Options { verify_checksum, max_string: 1 << 20, ..Options::default() });
    if known_len {
        p.set_total_len(data.len() as u64);
    }
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match p.next() {
            Err(e) => return Err(e.offset),
            Ok(Step::Event(ev)) => out.push(format!("{ev:?}")),
            Ok(Step::Done) => return Ok(out),
            Ok(Step::NeedMore) => {
                if fed == data.len() {
                    return p.finish().map(|_| out).map_err(|e| e.offset);
                }
                let n = chunk.min(data.len() - fed);
                p.feed(&data[fed..fed + n]);
                fed += n;
            }
        }
        assert!(p.capacity() <= 2 * data.len() + (1 << 21), "buffer grew beyond the input");
    }
}

fuzz_target!(|data: &[u8]| {
    // Start from a valid header most of the time, so the fuzzer spends its effort on the body.
    let mut input = Vec::with_capacity(data.len() + 9);
    match data.first().map(|b| b % 4) {
        Some(0) => input.extend_from_slice(b"REDIS0012"),
        Some(1) => input.extend_from_slice(b"REDIS0009"),
        Some(2) => input.extend_from_slice(b"VALKEY080"),
        _ => {}
    }
    input.extend_from_slice(data.get(1..).unwrap_or_default());
    let whole = run(&input, usize::MAX, true);
    let pieces = run(&input, 7, true);
    assert_eq!(whole, pieces, "feeding in pieces changed the result");
});
