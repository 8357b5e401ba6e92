//! What the decoder emits. Events borrow from the decoder's input buffer, so decoding copies
//! nothing; a consumer that needs to keep data past the next call copies it itself.
//!
//! A key is a run of events: [`Event::Key`], then its items ([`Event::Item`]), then (only when
//! asked for) its serialized value ([`Event::RawValue`]), then [`Event::KeyEnd`]. Large collections therefore never need to be held in memory at once.

use crate::format::Format;
use crate::value::Str;

/// The logical Redis type of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Set,
    Zset,
    Hash,
    Stream,
    Module,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Set => "set",
            ValueType::Zset => "zset",
            ValueType::Hash => "hash",
            ValueType::Stream => "stream",
            ValueType::Module => "module",
        }
    }

    /// Parses the names `TYPE` returns (used by filters).
    pub fn from_name(name: &str) -> Option<ValueType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "string" => ValueType::String,
            "list" => ValueType::List,
            "set" => ValueType::Set,
            "zset" => ValueType::Zset,
            "hash" => ValueType::Hash,
            "stream" => ValueType::Stream,
            "module" => ValueType::Module,
            _ => return None,
        })
    }
}

/// How the value is stored in the file: one name per RDB type byte (and, for strings, per
/// string form), documented in docs/events.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Plain length-prefixed string.
    Raw,
    /// String stored as an INT8/16/32.
    Int,
    /// LZF-compressed string.
    Lzf,
    /// Type 1: a length, then each element.
    LinkedList,
    /// Type 2: a length, then each member.
    Hashtable,
    /// Type 3: members with scores as text.
    Skiplist,
    /// Type 5: members with binary double scores.
    Skiplist2,
    /// Type 4: plain hash.
    HashPlain,
    Zipmap,
    Ziplist,
    Intset,
    Quicklist,
    Quicklist2,
    Listpack,
    /// Type 15.
    Stream,
    /// Type 19.
    Stream2,
    /// Type 21.
    Stream3,
    /// Redis type 24 (or 22 before 7.4 GA): hashtable hash with field TTLs.
    HashMetadata,
    HashMetadataPreGa,
    /// Redis type 25 (or 23 before 7.4 GA): listpack of field, value, TTL triplets.
    ListpackEx,
    ListpackExPreGa,
    /// Valkey 9 type 22: hashtable hash with field TTLs.
    Hash2,
    Module2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Int => "int",
            Encoding::Lzf => "lzf",
            Encoding::LinkedList => "linkedlist",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
            Encoding::Skiplist2 => "skiplist2",
            Encoding::HashPlain => "hashtable",
            Encoding::Zipmap => "zipmap",
            Encoding::Ziplist => "ziplist",
            Encoding::Intset => "intset",
            Encoding::Quicklist => "quicklist",
            Encoding::Quicklist2 => "quicklist2",
            Encoding::Listpack => "listpack",
            Encoding::Stream => "stream",
            Encoding::Stream2 => "stream2",
            Encoding::Stream3 => "stream3",
            Encoding::HashMetadata => "hash_metadata",
            Encoding::HashMetadataPreGa => "hash_metadata_pre_ga",
            Encoding::ListpackEx => "listpack_ex",
            Encoding::ListpackExPreGa => "listpack_ex_pre_ga",
            Encoding::Hash2 => "hash2",
            Encoding::Module2 => "module2",
        }
    }
}

/// Everything known about a key before its value.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo<'a> {
    pub db: u64,
    pub key: Str<'a>,
    pub value_type: ValueType,
    pub encoding: Encoding,
    /// The RDB type byte, for tools that analyse storage.
    pub type_byte: u8,
    /// Absolute expiry in Unix milliseconds.
    pub expire_at_ms: Option<i64>,
    /// LRU idle time in seconds (only written under an LRU maxmemory policy).
    pub idle_s: Option<u64>,
    /// LFU counter (only written under an LFU maxmemory policy).
    pub freq: Option<u8>,
    /// The element count the header states, when the encoding states one up front. It is a
    /// hint: it comes from the input and is never used to size an allocation.
    pub len_hint: Option<u64>,
    /// Absolute offset of the first byte that belongs to this key (its first prefix opcode,
    /// or its type byte).
    pub offset: u64,
}

/// A stream entry or group ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub fn from_be_bytes(raw: &[u8; 16]) -> StreamId {
        StreamId {
            ms: u64::from_be_bytes(raw[..8].try_into().unwrap()),
            seq: u64::from_be_bytes(raw[8..].try_into().unwrap()),
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The field/value pairs of one stream entry, read lazily from its listpack.
#[derive(Clone, Debug)]
pub struct StreamFields<'a> {
    pub(crate) inner: crate::stream::EntryFields<'a>,
}

impl<'a> Iterator for StreamFields<'a> {
    type Item = (Str<'a>, Str<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl StreamFields<'_> {
    pub fn count(&self) -> usize {
        self.inner.len()
    }
}

/// Stream metadata that follows the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamMeta {
    pub length: u64,
    pub last_id: StreamId,
    /// Types 19+; for type 15 derived from the entries as Redis does.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: u64,
}

/// One part of a key's value: an element, or stream metadata.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    String(Str<'a>),
    ListElement(Str<'a>),
    SetMember(Str<'a>),
    ZsetEntry {
        member: Str<'a>,
        score: f64,
    },
    HashField {
        field: Str<'a>,
        value: Str<'a>,
        expire_at_ms: Option<i64>,
    },
    StreamEntry {
        id: StreamId,
        fields: StreamFields<'a>,
    },
    StreamMeta(StreamMeta),
    /// A consumer group; its pending entries follow, then its consumers.
    StreamGroup {
        name: Str<'a>,
        last_id: StreamId,
        entries_read: Option<u64>,
        pending: u64,
    },
    /// One entry of the current group's pending entries list.
    StreamPending {
        id: StreamId,
        delivery_time_ms: i64,
        delivery_count: u64,
    },
    StreamConsumer {
        name: Str<'a>,
        seen_time_ms: i64,
        active_time_ms: i64,
        pending: u64,
    },
    /// One ID of the current consumer's pending list.
    StreamConsumerPending {
        id: StreamId,
    },
    /// A module value: its name, encoding version and the raw value bytes (module id and
    /// opcodes through the EOF opcode), kept so that it can be restored elsewhere.
    Module {
        name: &'a str,
        encver: u16,
        raw: &'a [u8],
    },
}

/// How the trailing checksum turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Stored and computed values agree.
    Verified(u64),
    /// The writer stored 0: it was saved with `rdbchecksum no`.
    Disabled,
    /// RDB < 5 has no checksum.
    Absent,
    /// Verification was turned off; the stored value is reported as is.
    Unchecked(u64),
}

#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The file header.
    Begin(Format),
    Aux {
        key: Str<'a>,
        value: Str<'a>,
    },
    /// SELECTDB: keys that follow belong to `db`.
    SelectDb(u64),
    /// RESIZEDB hint.
    ResizeDb {
        db_size: u64,
        expires_size: u64,
    },
    /// Redis 7.4 cluster SLOT_INFO hint.
    SlotInfo {
        slot: u64,
        size: u64,
        expires_size: u64,
    },
    /// Valkey 9 atomic slot migration record.
    SlotImport {
        job: Str<'a>,
        ranges: Vec<(u64, u64)>,
    },
    ModuleAux {
        name: &'a str,
        encver: u16,
        when: u64,
        raw: &'a [u8],
    },
    /// A function library's source (FUNCTION2).
    Function {
        code: Str<'a>,
    },
    /// A 7.0 release-candidate function (FUNCTION_PRE_GA).
    FunctionPreGa {
        name: Str<'a>,
        engine: Str<'a>,
        description: Option<Str<'a>>,
        code: Str<'a>,
    },
    Key(KeyInfo<'a>),
    Item(Item<'a>),
    /// The key's value as the file serializes it: the RDB type byte, then the value bytes (the
    /// key name left out). That is a `DUMP` payload without its footer (RDB version and CRC64),
    /// which `RESTORE` accepts on a server that reads this type. Comes after the key's items,
    /// just before [`Event::KeyEnd`], and only with [`crate::Options::raw_values_up_to`], for
    /// values within that limit.
    RawValue(&'a [u8]),
    /// The key's value is complete. `elements` counts its elements as decoded (list elements,
    /// set members, zset entries, hash fields, stream entries; 1 for a string or module
    /// value), whether or not they were reported as items (see [`crate::Options::items`]).
    KeyEnd {
        elements: u64,
    },
    /// The EOF opcode and checksum. Nothing follows.
    End {
        checksum: Checksum,
    },
}
