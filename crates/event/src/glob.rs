//! Redis glob patterns, as `KEYS`, `SCAN MATCH` and `PSUBSCRIBE` use them: a port of
//! `stringmatchlen` from redis src/util.c (case-sensitive).
//!
//! It is hand-written rather than taken from a glob crate because Redis' rules are not shell
//! rules: `*` and `?` cross `/`, an unterminated `[` is not an error, ranges may be reversed
//! (`[z-a]`), `\` escapes inside and outside classes, and keys are bytes, not paths or UTF-8.
//! Users copy patterns from their `SCAN` calls, so they must match the same keys here.
//!
//! Bytes compare as unsigned values. Redis compares C `char`s, which are signed on x86, so a
//! range with one end ≥ 0x80 can differ there; no sensible pattern depends on that.

/// Whether `key` matches the Redis glob `pattern`.
pub fn glob_match(pattern: &[u8], key: &[u8]) -> bool {
    let mut skip_longer = false;
    match_from(pattern, key, &mut skip_longer, 0)
}

/// Redis' guard against patterns like `*?*?*?...` that would otherwise recurse exponentially.
const MAX_NESTING: u32 = 1000;

fn match_from(mut p: &[u8], mut s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() >= 2 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_from(&p[1..], s, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                // The rest of the pattern matches nowhere in the rest of the key, so letting an
                // earlier `*` swallow more cannot help either.
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let negate = p.first() == Some(&b'^');
                if negate {
                    p = &p[1..];
                }
                let c = s[0];
                let mut matched = false;
                loop {
                    match p.first() {
                        Some(b'\\') if p.len() >= 2 => {
                            p = &p[1..];
                            if p[0] == c {
                                matched = true;
                            }
                        }
                        Some(b']') => break,
                        // Unterminated class: Redis stops at the end of the pattern, leaving
                        // the last byte to be stepped over below.
                        None => break,
                        Some(&start) if p.len() >= 3 && p[1] == b'-' => {
                            let end = p[2];
                            let (lo, hi) = if start <= end { (start, end) } else { (end, start) };
                            p = &p[2..];
                            if (lo..=hi).contains(&c) {
                                matched = true;
                            }
                        }
                        Some(&b) => {
                            if b == c {
                                matched = true;
                            }
                        }
                    }
                    p = &p[1..];
                }
                if matched == negate {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if p[0] != s[0] {
                    return false;
                }
                s = &s[1..];
            }
            b => {
                if b != s[0] {
                    return false;
                }
                s = &s[1..];
            }
        }
        // In Redis' code the class loop leaves `pattern` on the `]` (or, unterminated, on the
        // last byte) and this step moves past it; an unterminated class already consumed
        // everything here.
        if !p.is_empty() {
            p = &p[1..];
        }
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn basics() {
        assert!(m("*", "anything"));
        assert!(m("foo*", "foo_a"));
        assert!(!m("foo*", "fo"));
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hello"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("user:*", "user:1/2")); // `*` crosses `/`, unlike a shell glob
        assert!(m("a*b*c", "abbbbbc"));
        assert!(m("*world*", "hello world again"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(m("a**", "a"));
        assert!(!m("?", ""));
    }

    /// From valkey src/unit/test_util.cpp (TestStringmatchlenCharClass), case-sensitive part.
    #[test]
    fn valkey_char_class_cases() {
        assert!(m("[abc]", "a"));
        assert!(m("[abc]", "b"));
        assert!(!m("[abc]", "d"));
        assert!(m("[a-z]", "m"));
        assert!(!m("[a-z]", "A"));
        assert!(!m("[^abc]", "a"));
        assert!(m("[^abc]", "d"));
        let mut large = b"[".to_vec();
        large.extend(std::iter::repeat_n(b'a', 39999));
        large.extend_from_slice(b"z]");
        assert!(glob_match(&large, b"z"));
        assert!(glob_match(&large, b"a"));
        assert!(!glob_match(&large, b"b"));
        let mut star = b"*[".to_vec();
        star.extend(std::iter::repeat_n(b'z', 40000));
        star.push(b']');
        assert!(glob_match(&star, b"z"));
        assert!(!glob_match(&star, b"abc"));
        let mut long = [b'a'; 256];
        assert!(!glob_match(&star, &long));
        long[255] = b'z';
        assert!(glob_match(&star, &long));
    }

    #[test]
    fn escapes_and_odd_classes() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"[\]]", "]"));
        assert!(m(r"[\-]", "-"));
        assert!(m("[z-a]", "m")); // reversed range
                                  // `[a-]` is the range `]`..`a` in an unterminated class, as in Redis.
        assert!(m("[a-]", "a") && m("[a-]", "^"));
        assert!(!m("[a-]", "-"));
        // An unterminated class matches its members, as in Redis.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(m(r"trailing\", "trailing\\"));
    }

    #[test]
    fn binary_safe() {
        assert!(glob_match(b"k\x00*", b"k\x00\xff\xfe"));
        assert!(glob_match(b"[\x80-\xff]", b"\x90"));
        assert!(!glob_match(b"k\x00", b"k"));
    }

    /// redis tests/unit/keyspace.tcl "Regression for pattern matching long nested loops".
    #[test]
    fn long_nested_loops_return_quickly() {
        let key = "a".repeat(69);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &key));
    }

    /// redis tests/unit/keyspace.tcl "Regression for pattern matching very long nested loops".
    #[test]
    fn very_long_nested_loops_hit_the_nesting_limit() {
        let key = "a".repeat(50000);
        assert!(!m(&"*?".repeat(50000), &key));
    }
}
