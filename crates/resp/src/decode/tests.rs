use super::*;

fn b(s: &[u8]) -> Bytes {
    Bytes::copy_from_slice(s)
}

fn bulk(s: &[u8]) -> Frame {
    Frame::Bulk(b(s))
}

/// Decodes everything in `input`, which must be whole items.
fn decode_all(input: &[u8]) -> Vec<(Item, usize)> {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(found) = dec.decode(&mut buf).unwrap() {
        out.push(found);
    }
    assert!(buf.is_empty(), "left over: {:?}", &buf[..]);
    assert_eq!(dec.position(), input.len() as u64);
    out
}

fn one(input: &[u8]) -> Frame {
    let mut all = decode_all(input);
    assert_eq!(all.len(), 1);
    let (item, len) = all.pop().unwrap();
    assert_eq!(len, input.len(), "length of {:?}", String::from_utf8_lossy(input));
    match item {
        Item::Frame(f) => f,
        other => panic!("not a frame: {other:?}"),
    }
}

fn err(input: &[u8]) -> Error {
    Decoder::default().decode(&mut BytesMut::from(input)).unwrap_err()
}

#[test]
fn resp2_types() {
    assert_eq!(one(b"+OK\r\n"), Frame::Simple(b(b"OK")));
    assert_eq!(one(b"+\r\n"), Frame::Simple(b(b"")));
    assert_eq!(one(b"-ERR bad thing\r\n"), Frame::Error(b(b"ERR bad thing")));
    assert_eq!(one(b":0\r\n"), Frame::Integer(0));
    assert_eq!(one(b":-42\r\n"), Frame::Integer(-42));
    assert_eq!(one(b":9223372036854775807\r\n"), Frame::Integer(i64::MAX));
    assert_eq!(one(b":-9223372036854775808\r\n"), Frame::Integer(i64::MIN));
    assert_eq!(one(b"$3\r\nfoo\r\n"), bulk(b"foo"));
    assert_eq!(one(b"$0\r\n\r\n"), bulk(b""));
    assert_eq!(one(b"$4\r\na\r\nb\r\n"), bulk(b"a\r\nb"), "binary-safe bulk");
    assert_eq!(one(b"$-1\r\n"), Frame::Null);
    assert_eq!(one(b"*-1\r\n"), Frame::Null);
    assert_eq!(one(b"*0\r\n"), Frame::Array(vec![]));
    assert_eq!(
        one(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n:7\r\n"),
        Frame::Array(vec![bulk(b"SET"), bulk(b"k"), Frame::Integer(7)])
    );
    assert_eq!(
        one(b"*2\r\n*1\r\n+a\r\n*0\r\n"),
        Frame::Array(vec![Frame::Array(vec![Frame::Simple(b(b"a"))]), Frame::Array(vec![])])
    );
}

#[test]
fn resp3_types() {
    assert_eq!(one(b"_\r\n"), Frame::Null);
    assert_eq!(one(b"#t\r\n"), Frame::Boolean(true));
    assert_eq!(one(b"#f\r\n"), Frame::Boolean(false));
    assert_eq!(one(b",1.5\r\n"), Frame::Double(1.5));
    assert_eq!(one(b",-2e3\r\n"), Frame::Double(-2000.0));
    assert_eq!(one(b",inf\r\n"), Frame::Double(f64::INFINITY));
    assert_eq!(one(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
    assert!(matches!(one(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
    assert_eq!(
        one(b"(3492890328409238509324850943850943825024385\r\n"),
        Frame::BigNumber(b(b"3492890328409238509324850943850943825024385"))
    );
    assert_eq!(one(b"!21\r\nSYNTAX invalid syntax\r\n"), Frame::BulkError(b(b"SYNTAX invalid syntax")));
    assert_eq!(one(b"=15\r\ntxt:Some string\r\n"), Frame::Verbatim { format: *b"txt", text: b(b"Some string") });
    assert_eq!(
        one(b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"),
        Frame::Map(vec![
            (Frame::Simple(b(b"first")), Frame::Integer(1)),
            (Frame::Simple(b(b"second")), Frame::Integer(2))
        ])
    );
    assert_eq!(one(b"~2\r\n+a\r\n:1\r\n"), Frame::Set(vec![Frame::Simple(b(b"a")), Frame::Integer(1)]));
    assert_eq!(one(b">2\r\n+message\r\n$2\r\nhi\r\n"), Frame::Push(vec![Frame::Simple(b(b"message")), bulk(b"hi")]));
    assert_eq!(one(b"|1\r\n+ttl\r\n:3\r\n"), Frame::Attribute(vec![(Frame::Simple(b(b"ttl")), Frame::Integer(3))]));
}

#[test]
fn empty_lines_and_inline_commands() {
    let items = decode_all(b"\n\r\nPING\r\nset a b\n*1\r\n$4\r\nPING\r\n");
    let got: Vec<_> = items.iter().map(|(i, n)| (i.clone(), *n)).collect();
    assert_eq!(
        got,
        vec![
            (Item::EmptyLine, 1),
            (Item::EmptyLine, 2),
            (Item::Inline(b(b"PING")), 6),
            (Item::Inline(b(b"set a b")), 8),
            (Item::Frame(Frame::Array(vec![bulk(b"PING")])), 14),
        ]
    );
}

#[test]
fn into_command() {
    let f = one(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n");
    assert_eq!(f.into_command(), Some(vec![b(b"SELECT"), b(b"3")]));
    assert_eq!(one(b"*1\r\n:1\r\n").into_command(), None);
    assert_eq!(one(b"+OK\r\n").into_command(), None);
}

/// Every frame type, split at every byte: the prefix alone is "need more" and leaves the
/// buffer untouched; prefix plus rest decodes to the same items and lengths as the whole.
#[test]
fn every_split_point() {
    let input: &[u8] = b"+OK\r\n-ERR x\r\n:12\r\n$3\r\nfoo\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n\
_\r\n#t\r\n,1.25\r\n(12\r\n!3\r\nbad\r\n=6\r\ntxt:hi\r\n%1\r\n+k\r\n+v\r\n~1\r\n+s\r\n>1\r\n+p\r\n\
|1\r\n+a\r\n+b\r\n\n\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    let whole = decode_all(input);
    for split in 0..=input.len() {
        let mut dec = Decoder::default();
        let mut buf = BytesMut::from(&input[..split]);
        let mut got = Vec::new();
        loop {
            let before = buf.clone();
            match dec.decode(&mut buf).unwrap() {
                Some(found) => got.push(found),
                None => {
                    assert_eq!(buf, before, "a partial item must not be consumed (split {split})");
                    break;
                }
            }
        }
        buf.extend_from_slice(&input[split..]);
        while let Some(found) = dec.decode(&mut buf).unwrap() {
            got.push(found);
        }
        assert!(buf.is_empty(), "split {split}");
        assert_eq!(got, whole, "split {split}");
        assert_eq!(dec.position(), input.len() as u64);
    }
}

#[test]
fn check_reports_length_without_consuming() {
    let limits = Limits::default();
    assert_eq!(check(b"$3\r\nfoo\r\nXYZ", &limits), Ok(Some(9)));
    assert_eq!(check(b"$3\r\nfoo\r", &limits), Ok(None));
    assert_eq!(check(b"", &limits), Ok(None));
}

#[test]
fn lying_lengths_are_refused_before_buffering() {
    let e = err(b"$999999999999\r\n");
    assert_eq!(e.offset, 0);
    assert_eq!(e.kind, ErrorKind::BulkTooLong { len: 999999999999, max: 512 << 20 });
    assert!(e.to_string().contains("at byte offset 0"), "{e}");

    let e = err(b"*99999999999\r\n");
    assert_eq!(e.kind, ErrorKind::ArrayTooLong { len: 99999999999, max: i32::MAX as usize });

    // The offset names the lying element inside the frame, and counts from the position.
    let mut dec = Decoder::default();
    dec.set_position(1000);
    let mut buf = BytesMut::from(&b"*2\r\n$1\r\na\r\n$99999999999\r\n"[..]);
    let e = dec.decode(&mut buf).unwrap_err();
    assert_eq!(e.offset, 1011);
    assert!(matches!(e.kind, ErrorKind::BulkTooLong { .. }));

    // Configurable caps.
    let limits = Limits { max_bulk_len: 4, max_array_len: 2, ..Limits::default() };
    let mut dec = Decoder::new(limits);
    assert!(dec.decode(&mut BytesMut::from(&b"$4\r\nabcd\r\n"[..])).unwrap().is_some());
    let e = dec.decode(&mut BytesMut::from(&b"$5\r\nabcde\r\n"[..])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BulkTooLong { len: 5, max: 4 });
    let e = dec.decode(&mut BytesMut::from(&b"*3\r\n"[..])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ArrayTooLong { len: 3, max: 2 });
    let e = dec.decode(&mut BytesMut::from(&b"%3\r\n"[..])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ArrayTooLong { len: 3, max: 2 });
}

#[test]
fn a_large_count_is_not_allocated_up_front() {
    // A million-element array whose elements have not arrived: "need more", nothing sized.
    let mut buf = BytesMut::from(&b"*1000000\r\n$1\r\na\r\n"[..]);
    let cap = buf.capacity();
    assert!(Decoder::default().decode(&mut buf).unwrap().is_none());
    assert_eq!(buf.capacity(), cap);
}

#[test]
fn nesting_is_capped() {
    let mut input = Vec::new();
    for _ in 0..100 {
        input.extend_from_slice(b"*1\r\n");
    }
    input.extend_from_slice(b":1\r\n");
    let e = err(&input);
    assert_eq!(e.kind, ErrorKind::TooDeep { max: 32 });
    assert_eq!(e.offset, 32 * 4);
}

#[test]
fn garbage_is_an_error_with_its_offset() {
    type Case = (&'static [u8], u64, fn(&ErrorKind) -> bool);
    let cases: &[Case] = &[
        (b"$abc\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"$-2\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"$+3\r\nabc\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"$\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"*-2\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"%-1\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b":12a\r\n", 0, |k| matches!(k, ErrorKind::BadInteger(_))),
        (b":99999999999999999999\r\n", 0, |k| matches!(k, ErrorKind::BadInteger(_))),
        (b",abc\r\n", 0, |k| matches!(k, ErrorKind::BadDouble(_))),
        (b"#x\r\n", 0, |k| matches!(k, ErrorKind::BadBoolean(_))),
        (b"_x\r\n", 0, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"=2\r\nab\r\n", 0, |k| matches!(k, ErrorKind::BadVerbatim)),
        (b"+OK\n", 1, |k| matches!(k, ErrorKind::BareLf)),
        (b"$3\r\nfooXY", 0, |k| matches!(k, ErrorKind::MissingCrlf { len: 3 })),
        (b"*2\r\n$1\r\na\r\n@junk\r\n", 11, |k| matches!(k, ErrorKind::BadLength(_))),
        (b"$12345678901234567890123456789012345678901234567890", 1, |k| matches!(k, ErrorKind::LineTooLong { .. })),
    ];
    for (input, offset, kind) in cases {
        let e = err(input);
        assert_eq!(e.offset, *offset, "{:?}: {e}", String::from_utf8_lossy(input));
        assert!(kind(&e.kind), "{:?}: {e}", String::from_utf8_lossy(input));
    }
    // An endless line: a bounded wait, then an error.
    let long = vec![b'x'; (64 << 10) + 2];
    assert!(matches!(err(&long).kind, ErrorKind::LineTooLong { .. }));
    let mut simple = vec![b'+'; 1];
    simple.extend(std::iter::repeat_n(b'x', (64 << 10) + 2));
    assert!(matches!(err(&simple).kind, ErrorKind::LineTooLong { .. }));
}

#[test]
fn frames_round_trip_through_the_encoder() {
    let inputs: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":-5\r\n",
        b"$3\r\nfoo\r\n",
        b"$-1\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"#f\r\n",
        b",1.25\r\n",
        b",inf\r\n",
        b"(12\r\n",
        b"!3\r\nbad\r\n",
        b"=6\r\ntxt:hi\r\n",
        b"%1\r\n+k\r\n+v\r\n",
        b"~1\r\n+s\r\n",
        b">1\r\n+p\r\n",
        b"|1\r\n+a\r\n+b\r\n",
    ];
    for input in inputs {
        let mut out = Vec::new();
        one(input).write_to(&mut out);
        assert_eq!(&out[..], *input, "{:?}", String::from_utf8_lossy(input));
    }
}
