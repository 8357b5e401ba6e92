//! Module values (type 7) and MODULE_AUX payloads. Only the module can interpret them, but
//! since Redis 4.0 GA they are written as typed opcodes, so they can be skipped exactly
//! (redis src/rdb.c rdbLoadCheckModuleValue, src/module.c moduleTypeNameByID).

use crate::cursor::{Cursor, Unit};
use crate::error::ErrorKind;

pub(crate) const OPCODE_EOF: u64 = 0;
pub(crate) const OPCODE_SINT: u64 = 1;
pub(crate) const OPCODE_UINT: u64 = 2;
pub(crate) const OPCODE_FLOAT: u64 = 3;
pub(crate) const OPCODE_DOUBLE: u64 = 4;
pub(crate) const OPCODE_STRING: u64 = 5;

const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The 9-character type name packed in the top 54 bits of a module id.
pub fn name_of(id: u64) -> [u8; 9] {
    let mut name = [0u8; 9];
    for (i, ch) in name.iter_mut().enumerate() {
        let shift = 64 - 6 * (i as u32 + 1);
        *ch = CHARSET[((id >> shift) & 63) as usize];
    }
    name
}

/// The module's encoding version, in the low 10 bits of the id.
pub fn encver_of(id: u64) -> u16 {
    (id & 1023) as u16
}

/// Skips typed opcodes up to and including the EOF opcode.
pub(crate) fn skip_opcodes(c: &mut Cursor<'_>) -> Unit<()> {
    loop {
        let at = c.pos;
        match c.length()? {
            OPCODE_EOF => return Ok(()),
            OPCODE_SINT | OPCODE_UINT => {
                c.length()?;
            }
            OPCODE_FLOAT => {
                c.take(4, "module float")?;
            }
            OPCODE_DOUBLE => {
                c.take(8, "module double")?;
            }
            OPCODE_STRING => c.skip_str()?,
            other => return c.fail(at, ErrorKind::Invalid(format!("unknown module opcode {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs a name the way moduleTypeEncodeId does, as an independent check of `name_of`.
    fn encode(name: &str, encver: u64) -> u64 {
        let mut id = 0u64;
        for ch in name.bytes() {
            let v = CHARSET.iter().position(|&c| c == ch).unwrap() as u64;
            id = (id << 6) | v;
        }
        (id << 10) | encver
    }

    #[test]
    fn module_ids() {
        let id = encode("ReJSON-RL", 3);
        assert_eq!(&name_of(id), b"ReJSON-RL");
        assert_eq!(encver_of(id), 3);
    }

    #[test]
    fn skips_each_opcode() {
        // UINT 5, FLOAT, DOUBLE, STRING "ab", EOF, then a trailing byte that must not be read.
        let buf = [2, 5, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2, b'a', b'b', 0, 0xEE];
        let mut c = Cursor { buf: &buf, pos: 0, more: Some(0), total: None, max_unit: 1 << 20 };
        skip_opcodes(&mut c).unwrap();
        assert_eq!(c.pos, buf.len() - 1);
        let mut bad = Cursor { buf: &[9], pos: 0, more: Some(0), total: None, max_unit: 1 << 20 };
        assert!(skip_opcodes(&mut bad).is_err());
    }
}
