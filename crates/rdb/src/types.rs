//! The RDB type byte table, per dialect. Redis and Valkey agree up to 21 and then diverge, so
//! every lookup takes the [`Format`].

use crate::error::ErrorKind;
use crate::event::{Encoding, ValueType};
use crate::format::{Family, Format};

pub(crate) const MODULE_PRE_GA: u8 = 6;

/// Classifies a type byte, or explains why it cannot be decoded.
pub(crate) fn classify(ty: u8, format: Format) -> Result<(ValueType, Encoding), ErrorKind> {
    use Encoding as E;
    use ValueType as V;
    Ok(match ty {
        0 => (V::String, E::Raw),
        1 => (V::List, E::LinkedList),
        2 => (V::Set, E::Hashtable),
        3 => (V::Zset, E::Skiplist),
        4 => (V::Hash, E::HashPlain),
        5 => (V::Zset, E::Skiplist2),
        MODULE_PRE_GA => return Err(ErrorKind::ModulePreGa),
        7 => (V::Module, E::Module2),
        9 => (V::Hash, E::Zipmap),
        10 => (V::List, E::Ziplist),
        11 => (V::Set, E::Intset),
        12 => (V::Zset, E::Ziplist),
        13 => (V::Hash, E::Ziplist),
        14 => (V::List, E::Quicklist),
        15 => (V::Stream, E::Stream),
        16 => (V::Hash, E::Listpack),
        17 => (V::Zset, E::Listpack),
        18 => (V::List, E::Quicklist2),
        19 => (V::Stream, E::Stream2),
        20 => (V::Set, E::Listpack),
        21 => (V::Stream, E::Stream3),
        22 if format.family == Family::Valkey => (V::Hash, E::Hash2),
        22 => (V::Hash, E::HashMetadataPreGa),
        23 if format.family == Family::Redis => (V::Hash, E::ListpackExPreGa),
        24 if format.family == Family::Redis => (V::Hash, E::HashMetadata),
        25 if format.family == Family::Redis => (V::Hash, E::ListpackEx),
        26 if format.family == Family::Redis => {
            return Err(ErrorKind::UnsupportedType { ty, name: "STREAM_LISTPACKS_4", format: format.to_string() })
        }
        27 if format.family == Family::Redis => {
            return Err(ErrorKind::UnsupportedType { ty, name: "STREAM_LISTPACKS_5", format: format.to_string() })
        }
        _ => return Err(ErrorKind::UnknownType { ty, format: format.to_string() }),
    })
}
