//! The fast path must give exactly what the general decoder gives (the reference: its own
//! tests check it against the spec) for the same bytes, however they are split.

use super::*;
use crate::error::ErrorKind;
use crate::frame::Frame;

/// What one decoder made of a whole input: the items with their lengths, then the error (if
/// any) and the bytes left in the buffer.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<(Decoded, usize)>,
    error: Option<Error>,
    left: usize,
}

/// The general decoder's items, with arrays of bulk strings shown as commands (checked by
/// `odd_but_valid_commands_are_commands`).
fn general(input: &[u8], limits: Limits, cuts: &[usize]) -> Outcome {
    let mut dec = Decoder::new(limits);
    run(input, cuts, |buf| dec.decode(buf).map(|found| found.map(|(item, len)| (Decoded::from(item), len))))
}

fn fast(input: &[u8], limits: Limits, cuts: &[usize]) -> Outcome {
    let mut dec = CommandDecoder::new(limits);
    let out = run(input, cuts, |buf| dec.decode(buf));
    if out.error.is_none() {
        let used: usize = out.items.iter().map(|(_, len)| len).sum();
        assert_eq!(dec.position(), used as u64, "the position counts every byte");
    }
    out
}

/// Feeds `input` in pieces ending at `cuts` (then the rest), decoding after each piece.
fn run(
    input: &[u8],
    cuts: &[usize],
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<(Decoded, usize)>, Error>,
) -> Outcome {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain([&input.len()]) {
        buf.extend_from_slice(&input[from..to.max(from)]);
        from = to.max(from);
        loop {
            match decode(&mut buf) {
                Ok(Some(found)) => items.push(found),
                Ok(None) => break,
                Err(error) => return Outcome { items, error: Some(error), left: buf.len() },
            }
        }
    }
    Outcome { items, error: None, left: buf.len() }
}

/// Both decoders agree on `input` whole, one byte at a time, and at `splits` random cuts (the
/// same cuts for both: where an error stops the input depends on them), and the items and the
/// error never depend on the cuts.
fn agree(input: &[u8], limits: Limits, rng: &mut Rng, splits: usize) -> Outcome {
    let whole = general(input, limits, &[]);
    let text = String::from_utf8_lossy(input);
    let check = |cuts: &[usize]| {
        let reference = general(input, limits, cuts);
        assert_eq!(fast(input, limits, cuts), reference, "cut at {cuts:?}: {text:?}");
        assert_eq!((&reference.items, &reference.error), (&whole.items, &whole.error), "cut at {cuts:?}: {text:?}");
    };
    check(&[]);
    check(&(1..input.len()).collect::<Vec<_>>());
    for _ in 0..splits {
        let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(input.len() + 1)).collect();
        cuts.sort_unstable();
        check(&cuts);
    }
    whole
}

/// xorshift64: a fixed-seed source of cuts and mutations, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn args(out: &Outcome) -> Vec<Vec<&[u8]>> {
    out.items
        .iter()
        .filter_map(|(d, _)| match d {
            Decoded::Command(a) => Some(a.iter().map(|b| &b[..]).collect()),
            Decoded::Item(_) => None,
        })
        .collect()
}

const SMALL: Limits = Limits { max_bulk_len: 16, max_array_len: 4, max_depth: 4, max_line_len: 64 };

/// A stream as a master sends it: SELECT, writes with binary and CRLF-holding values, PING,
/// MULTI/EXEC.
fn stream() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    s.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\na\r\nb\r\n");
    s.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    s.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$0\r\n\r\n*1\r\n$4\r\nEXEC\r\n");
    s.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$2\r\n\xff\x00\r\n");
    s.extend_from_slice(b"*04\r\n$4\r\nHSET\r\n$1\r\nh\r\n$01\r\nf\r\n$1\r\nv\r\n");
    s
}

#[test]
fn a_stream_decodes_as_the_general_decoder_does_at_every_split() {
    let mut rng = Rng(1);
    let input = stream();
    let out = agree(&input, Limits::default(), &mut rng, 500);
    assert_eq!(out.error, None);
    assert_eq!(out.left, 0);
    let got = args(&out);
    assert_eq!(got.len(), 8);
    assert_eq!(got[1], [&b"SET"[..], b"key", b"a\r\nb"]);
    assert_eq!(got[4], [&b"LPUSH"[..], b"l", b""]);
    assert_eq!(got[6], [&b"INCR"[..], b"\xff\x00"]);
    assert_eq!(got[7], [&b"HSET"[..], b"h", b"f", b"v"], "leading zeros in lengths, as the general decoder");
    assert_eq!(out.items.iter().map(|(_, len)| len).sum::<usize>(), input.len(), "every byte counts");
}

#[test]
fn other_items_go_to_the_general_decoder() {
    let mut rng = Rng(2);
    let input = b"\r\n\n*0\r\n*-1\r\n+OK\r\n*2\r\n$1\r\na\r\n:5\r\n*1\r\n$-1\r\n*1\r\n*1\r\n$1\r\nx\r\nPING\r\n";
    let out = agree(input, Limits::default(), &mut rng, 300);
    assert_eq!(out.error, None);
    let kinds: Vec<&Decoded> = out.items.iter().map(|(d, _)| d).collect();
    assert_eq!(kinds[0], &Decoded::Item(Item::EmptyLine));
    assert_eq!(kinds[2], &Decoded::Item(Item::Frame(Frame::Array(vec![]))));
    assert_eq!(kinds[3], &Decoded::Item(Item::Frame(Frame::Null)));
    assert!(
        matches!(kinds[5], Decoded::Item(Item::Frame(Frame::Array(a))) if a[1] == Frame::Integer(5)),
        "an array with an integer is not a command: {:?}",
        kinds[5]
    );
    assert!(matches!(kinds.last(), Some(Decoded::Item(Item::Inline(_)))));
}

#[test]
fn hostile_lengths_give_the_general_decoders_errors() {
    let mut rng = Rng(3);
    let cases: &[(&[u8], ErrorKind)] = &[
        // A bulk that claims more than it has: its CRLF is not where the length says.
        (b"*1\r\n$10\r\nabc\r\n*1\r\n$4\r\nPING\r\n", ErrorKind::MissingCrlf { len: 10 }),
        (b"*2\r\n$3\r\nSET\r\n$-5\r\n", ErrorKind::BadLength("-5".into())),
        (b"*-2\r\n", ErrorKind::BadLength("-2".into())),
        (b"*2\r\n$3\r\nSET\r\n$1x\r\n", ErrorKind::BadLength("1x".into())),
        (b"*2\r\n$\r\n", ErrorKind::BadLength("".into())),
        (b"*99999999999999999999\r\n", ErrorKind::BadLength("99999999999999999999".into())),
        (b"*5\r\n", ErrorKind::ArrayTooLong { len: 5, max: 4 }),
        (b"*1\r\n$17\r\n", ErrorKind::BulkTooLong { len: 17, max: 16 }),
        (b"*1\r\n$999999999999999999\r\n", ErrorKind::BulkTooLong { len: 999999999999999999, max: 16 }),
        (b"*1\r\n$1000000000000000000\r\n", ErrorKind::BulkTooLong { len: 1000000000000000000, max: 16 }),
        (b"*1\r\n$3\nSET\r\n", ErrorKind::BareLf),
        (b"*1\r\n$3\r\nSETXY", ErrorKind::MissingCrlf { len: 3 }),
        (b"*1\r\n$3\r\nSET\r\n*1\r\n$1234567890123456789012345678901234", ErrorKind::LineTooLong { max: 32 }),
    ];
    for (input, kind) in cases {
        let out = agree(input, SMALL, &mut rng, 100);
        assert_eq!(out.error.as_ref().map(|e| &e.kind), Some(kind), "{:?}", String::from_utf8_lossy(input));
    }
    // The error's offset is absolute, after the commands before it.
    let out = fast(b"*1\r\n$4\r\nPING\r\n*1\r\n$-3\r\n", SMALL, &[]);
    assert_eq!(out.error.map(|e| e.offset), Some(18));
}

/// `*N` with a huge N is only a promise: nothing is allocated for arguments that have not
/// arrived, and the arguments kept while waiting are bounded by the bytes present.
#[test]
fn a_huge_count_waits_without_allocating_for_it() {
    let mut dec = CommandDecoder::default();
    let mut buf = BytesMut::from(&b"*2147483647\r\n"[..]);
    for _ in 0..1000 {
        buf.extend_from_slice(b"$1\r\na\r\n");
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
    }
    assert_eq!(dec.spans.len(), 1000);
    assert!(dec.spans.capacity() < 4 * 1000, "grows with the input, not the count");
    assert_eq!(buf.len(), 13 + 7000, "nothing consumed while incomplete");
}

/// A command of many arguments fed a byte at a time is scanned once, not once per byte (the
/// scan resumes), and comes out whole.
#[test]
fn a_long_command_resumes_its_scan() {
    let mut input = b"*2001\r\n$4\r\nSADD\r\n".to_vec();
    for i in 0..2000 {
        let member = format!("m{i}");
        input.extend_from_slice(format!("${}\r\n{member}\r\n", member.len()).as_bytes());
    }
    let mut dec = CommandDecoder::default();
    let mut buf = BytesMut::new();
    let mut found = None;
    for &byte in &input {
        buf.extend_from_slice(&[byte]);
        if let Some(f) = dec.decode(&mut buf).unwrap() {
            found = Some(f);
        }
        // While waiting, the scan stands at the start of the first argument not yet complete.
        if let Some((_, next)) = dec.scan {
            assert!(next <= buf.len());
        }
    }
    let (Decoded::Command(args), len) = found.unwrap() else { panic!("not a command") };
    assert_eq!((args.len(), len), (2001, input.len()));
    assert_eq!(&args[2000][..], b"m1999");
    assert!(dec.spans.is_empty() && dec.scan.is_none());
}

/// Random corruptions of a valid stream: whatever the bytes, both paths agree (same items,
/// same error at the same offset), and nothing panics.
#[test]
fn corrupted_streams_agree_with_the_general_decoder() {
    let mut rng = Rng(4);
    let base = stream();
    let alphabet = b"*$:+-\r\n0123456789aX";
    for _ in 0..400 {
        let mut input = base.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] = alphabet[rng.below(alphabet.len())],
                1 => {
                    input.remove(at);
                }
                _ => input.insert(at, alphabet[rng.below(alphabet.len())]),
            }
        }
        agree(&input, SMALL, &mut rng, 4);
        agree(&input, Limits::default(), &mut rng, 4);
    }
}

#[test]
fn no_depth_allowed_means_no_commands() {
    let limits = Limits { max_depth: 0, ..Limits::default() };
    let out = agree(b"*1\r\n$4\r\nPING\r\n", limits, &mut Rng(5), 10);
    assert_eq!(out.error.map(|e| e.kind), Some(ErrorKind::TooDeep { max: 0 }));
}

#[test]
fn odd_but_valid_commands_are_commands() {
    let mut dec = CommandDecoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nDEL\r\n$-0\r\n\r\n*1\r\n:1\r\n"[..]);
    let (first, _) = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(first, Decoded::Command(vec![Bytes::from_static(b"DEL"), Bytes::new()]));
    let (second, _) = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(second, Decoded::Item(Item::Frame(Frame::Array(vec![Frame::Integer(1)]))));
}

/// A recycled argument vector carries nothing over into the next command.
#[test]
fn a_recycled_vector_is_reused_empty() {
    let mut dec = CommandDecoder::default();
    let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n"[..]);
    let Some((Decoded::Command(first), _)) = dec.decode(&mut buf).unwrap() else { panic!("a command") };
    let reused = first.as_ptr();
    dec.recycle(first);
    let Some((Decoded::Command(second), len)) = dec.decode(&mut buf).unwrap() else { panic!("a command") };
    assert_eq!(second.as_ptr(), reused, "the same allocation");
    assert_eq!((second, len), (vec![Bytes::from_static(b"PING")], 14));
}
