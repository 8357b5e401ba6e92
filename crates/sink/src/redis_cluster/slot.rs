//! The key → slot hash of Redis Cluster.

/// Slots in a cluster; a key's slot is its hash modulo this.
pub const SLOT_COUNT: u16 = 16384;

/// CRC16/XMODEM (poly 0x1021, init 0), the variant `cluster.c` implements as `crc16`.
const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

/// The part of a key that is hashed: the text between the first `{` and the first `}` after it,
/// when that is not empty; otherwise the whole key. This lets users keep related keys
/// (`{user:1}:name`, `{user:1}:email`) in one slot, so multi-key commands work on them.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        let rest = &key[open + 1..];
        if let Some(close) = rest.iter().position(|&b| b == b'}') {
            if close > 0 {
                return &rest[..close];
            }
        }
    }
    key
}

/// The slot a key belongs to, as `CLUSTER KEYSLOT` computes it.
pub fn key_slot(key: &[u8]) -> u16 {
    CRC16.checksum(hash_tag(key)) & (SLOT_COUNT - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_follow_the_specification() {
        // The examples of the cluster specification, "Hash tags".
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}", "an empty tag: the whole key");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar", "the first {{ and the first }} after it");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"no-tag"), b"no-tag");
        assert_eq!(hash_tag(b"open{only"), b"open{only");
        assert_eq!(hash_tag(b""), b"");
    }

    #[test]
    fn crc16_check_value() {
        // The catalogue's check value for CRC-16/XMODEM, and the one the specification quotes
        // for its reference implementation: crc16("123456789") = 0x31C3.
        assert_eq!(CRC16.checksum(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"123456789"), 0x31C3 & 0x3FFF);
    }
}
