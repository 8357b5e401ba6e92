//! Encoding commands: `*N\r\n` then `$len\r\narg\r\n` per argument, the only form a server
//! accepts from a replica (and the form a master uses for its stream).

use bytes::{BufMut, Bytes, BytesMut};

/// Appends the encoding of a command to `out`.
pub fn encode_command_into<A: AsRef<[u8]>>(args: &[A], out: &mut impl BufMut) {
    put_head(out, b'*', args.len() as u64);
    for arg in args {
        let arg = arg.as_ref();
        put_head(out, b'$', arg.len() as u64);
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// The encoding of a command as one buffer.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Bytes {
    let size: usize = 16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    encode_command_into(args, &mut out);
    out.freeze()
}

fn put_head(out: &mut impl BufMut, ty: u8, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_u8(ty);
    out.put_slice(&digits[i..]);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        assert_eq!(&encode_command(&["PING"])[..], b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(&encode_command(&[&b"SET"[..], b"k", b""])[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let big = vec![b'x'; 1234567];
        let enc = encode_command(&[&big[..]]);
        assert!(enc.starts_with(b"*1\r\n$1234567\r\nxxx"));
        assert_eq!(enc.len(), 4 + 10 + 1234567 + 2);
        assert_eq!(&encode_command::<&str>(&[])[..], b"*0\r\n");
    }
}
