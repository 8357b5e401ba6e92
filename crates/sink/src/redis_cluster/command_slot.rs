//! The one slot a command needs, from its keys (the event crate's key table).

use event::command_keys::command_keys;

use crate::redis_cluster::slot::key_slot;
use crate::Error;

/// How many keys a cross-slot error lists; the rest are counted.
const KEYS_NAMED: usize = 8;

/// The slot every key of `args` (name first) hashes to; `Ok(None)` for a command without keys
/// (it may go to any node). Keys in different slots are an error naming the command and the
/// keys with their slots: a cluster refuses such a command (`-CROSSSLOT`), and splitting it
/// would change what it means.
pub fn command_slot<A: AsRef<[u8]>>(args: &[A]) -> Result<Option<u16>, Error> {
    let mut slot = None;
    for key in command_keys(args) {
        let s = key_slot(key);
        match slot {
            None => slot = Some(s),
            Some(first) if first != s => return Err(cross_slot(args)),
            Some(_) => {}
        }
    }
    Ok(slot)
}

fn cross_slot<A: AsRef<[u8]>>(args: &[A]) -> Error {
    let name = args.first().map(|a| String::from_utf8_lossy(a.as_ref()).to_uppercase()).unwrap_or_default();
    cross_slot_error(name, command_keys(args).collect())
}

/// The error for `what` (a command name, or a transaction) whose `keys` span several slots.
pub fn cross_slot_error(what: String, keys: Vec<&[u8]>) -> Error {
    let name = what;
    let mut listed: Vec<String> = keys
        .iter()
        .take(KEYS_NAMED)
        .map(|k| format!("{:?} (slot {})", String::from_utf8_lossy(k), key_slot(k)))
        .collect();
    if keys.len() > KEYS_NAMED {
        listed.push(format!("and {} more", keys.len() - KEYS_NAMED));
    }
    Error::CrossSlot { command: name, keys: listed.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_key_and_keyless_commands() {
        assert_eq!(command_slot(&["SET", "123456789", "v"]).unwrap(), Some(0x31C3));
        assert_eq!(command_slot(&["FLUSHALL"]).unwrap(), None);
        assert_eq!(command_slot::<&str>(&[]).unwrap(), None);
    }

    #[test]
    fn keys_sharing_a_hash_tag_share_a_slot() {
        let slot = key_slot(b"user:1");
        assert_eq!(command_slot(&["MSET", "{user:1}:a", "1", "{user:1}:b", "2"]).unwrap(), Some(slot));
        assert_eq!(command_slot(&["RENAME", "{user:1}x", "y{user:1}"]).unwrap(), Some(slot));
    }

    #[test]
    fn keys_in_different_slots_are_named() {
        let err = command_slot(&["mset", "a", "1", "b", "2"]).unwrap_err().to_string();
        assert!(err.contains("MSET"), "{err}");
        assert!(err.contains(&format!("\"a\" (slot {})", key_slot(b"a"))), "{err}");
        assert!(err.contains(&format!("\"b\" (slot {})", key_slot(b"b"))), "{err}");
        let many: Vec<String> = std::iter::once("DEL".to_string()).chain((0..20).map(|i| format!("k{i}"))).collect();
        let err = command_slot(&many).unwrap_err().to_string();
        assert!(err.contains("and 12 more"), "{err}");
    }
}
