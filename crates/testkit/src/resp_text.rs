//! Reading RESP commands back in tests, as text to compare with expected commands.

/// Splits RESP2 commands into their arguments, checking the framing strictly (each argument
/// lossily as text, which is enough for assertions).
pub fn parse_resp(mut b: &[u8]) -> Vec<Vec<String>> {
    fn header(b: &mut &[u8], tag: u8) -> usize {
        assert_eq!(b[0], tag, "bad RESP framing at {:?}", String::from_utf8_lossy(&b[..b.len().min(32)]));
        let end = b.windows(2).position(|w| w == b"\r\n").expect("header ends with CRLF");
        let n = std::str::from_utf8(&b[1..end]).unwrap().parse().unwrap();
        *b = &b[end + 2..];
        n
    }
    let mut cmds = Vec::new();
    while !b.is_empty() {
        let argc = header(&mut b, b'*');
        let mut args = Vec::with_capacity(argc);
        for _ in 0..argc {
            let n = header(&mut b, b'$');
            args.push(String::from_utf8_lossy(&b[..n]).into_owned());
            assert_eq!(&b[n..n + 2], b"\r\n");
            b = &b[n + 2..];
        }
        cmds.push(args);
    }
    cmds
}
