//! The phases of a stream value: nodes, metadata, groups with their pending entries, and
//! consumers with theirs.

use super::*;

impl Decoder {
    pub(super) fn stream_step(&mut self, c: &mut Cursor<'_>, phase: StreamPhase) -> Unit<Flow> {
        use StreamPhase as P;
        match phase {
            P::Nodes { remaining: 0 } => {
                let meta = self.stream.read_meta(c)?;
                self.pending = Pending::Item(ItemRef::StreamMeta(meta));
                self.state = State::Stream(P::Groups { remaining: meta.groups });
                Ok(Flow::Event)
            }
            P::Nodes { remaining } => {
                let unit_start = c.pos;
                let node_key_at = c.pos;
                let node_key = self.read_str(c)?;
                let master = match node_key {
                    SRef::In(s, e) if e - s == 16 => {
                        StreamId::from_be_bytes(c.buf[s as usize..e as usize].try_into().expect("16 bytes"))
                    }
                    SRef::Scratch(s, e) if e - s == 16 => {
                        StreamId::from_be_bytes(self.scratch[s as usize..e as usize].try_into().expect("16 bytes"))
                    }
                    _ => return c.fail(node_key_at, ErrorKind::Invalid("stream node key is not 16 bytes".into())),
                };
                self.stream.set_remaining_nodes(remaining - 1);
                let str_start = c.pos;
                let in_input = match c.len()? {
                    Len::Plain(n) => Some(c.take_range(n, "stream listpack")?),
                    Len::Special(ENC_LZF) => {
                        self.blob_len = 0;
                        self.lzf_into(c, str_start, true)?;
                        None
                    }
                    Len::Special(_) => {
                        return c.fail(str_start, ErrorKind::Invalid("stream listpack must be a string".into()))
                    }
                };
                let blob: &[u8] = match in_input {
                    Some((s, e)) => &c.buf[s..e],
                    None => &self.blob_data[..self.blob_len],
                };
                if let Err(e) = self.stream.parse_node(master, blob) {
                    let at = match in_input {
                        Some((s, _)) => s + e.pos,
                        None => str_start,
                    };
                    return Err(blob_err(at, e));
                }
                self.blob_in_input = in_input.map(|(s, e)| (self.origin + s as u64, self.origin + e as u64));
                self.blob_unit_end = self.origin + c.pos as u64;
                self.blob_idx = 0;
                if self.stream.entry_count() == 0 {
                    self.state = self.after(After::Stream);
                    return Ok(Flow::Continue);
                }
                c.pos = unit_start;
                self.state = State::Blob { items: BlobItems::StreamNode, then: After::Stream };
                Ok(Flow::Continue)
            }
            P::Groups { remaining: 0 } => {
                self.state = State::KeyEnd;
                Ok(Flow::Continue)
            }
            P::Groups { remaining } => {
                let name = self.read_str(c)?;
                let (group, next) = self.stream.read_group(c, remaining - 1)?;
                self.pending = Pending::Item(ItemRef::StreamGroup {
                    name,
                    last_id: group.last_id,
                    entries_read: group.entries_read,
                    pending: group.pending,
                });
                self.state = State::Stream(next);
                Ok(Flow::Event)
            }
            P::GroupPel { remaining: 0, groups } => {
                let n = c.length()?;
                c.check_count(n, 10, "stream consumer count")?;
                self.state = State::Stream(P::Consumers { remaining: n, groups });
                Ok(Flow::Continue)
            }
            P::GroupPel { remaining, groups } => {
                let (id, delivery_time_ms, delivery_count) = StreamTables::read_pel_entry(c)?;
                self.pending = Pending::Item(ItemRef::StreamPending { id, delivery_time_ms, delivery_count });
                self.state = State::Stream(P::GroupPel { remaining: remaining - 1, groups });
                Ok(Flow::Event)
            }
            P::Consumers { remaining: 0, groups } => {
                self.state = State::Stream(P::Groups { remaining: groups });
                Ok(Flow::Continue)
            }
            P::Consumers { remaining, groups } => {
                let name = self.read_str(c)?;
                let (seen_time_ms, active_time_ms, pending) = self.stream.read_consumer(c)?;
                self.pending = Pending::Item(ItemRef::StreamConsumer { name, seen_time_ms, active_time_ms, pending });
                self.state = State::Stream(P::ConsumerPel { remaining: pending, consumers: remaining - 1, groups });
                Ok(Flow::Event)
            }
            P::ConsumerPel { remaining: 0, consumers, groups } => {
                self.state = State::Stream(P::Consumers { remaining: consumers, groups });
                Ok(Flow::Continue)
            }
            P::ConsumerPel { remaining, consumers, groups } => {
                let raw: [u8; 16] = c.array()?;
                self.pending = Pending::Item(ItemRef::StreamConsumerPending(StreamId::from_be_bytes(&raw)));
                self.state = State::Stream(P::ConsumerPel { remaining: remaining - 1, consumers, groups });
                Ok(Flow::Event)
            }
        }
    }
}
