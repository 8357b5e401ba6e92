//! Sorted-set scores stored as text: the members of ziplist/listpack zsets (types 12, 17)
//! and the scores of type-3 zsets, whose length byte 253/254/255 stands for NaN/+inf/-inf
//! and is handled by the caller before the text reaches here.
//!
//! Redis writes these with `d2string`/`%.17g` (or, since 7.0, `fpconv_dtoa`): decimal
//! integers, `1.5`, `1.0000000000000001e+20`, `inf`, `-inf`, `nan`, `-0`. Redis reads them
//! back with `strtod` (ziplist/listpack) or `sscanf("%lg")` (type 3). We accept the same
//! decimal syntax as `strtod` (sign, digits, point, exponent, `inf`/`infinity`/`nan` in any
//! case, leading whitespace; overflow gives ±inf like `HUGE_VAL`), but unlike `strtod` we
//! reject trailing garbage instead of silently stopping there, and we reject hexadecimal
//! floats and `nan(...)`, which no Redis version writes.

use crate::value::Str;

/// Parses a score written as text. `None` means the text is not a number.
#[inline]
pub fn parse_double_text(s: &[u8]) -> Option<f64> {
    let start = s.iter().position(|b| !b.is_ascii_whitespace())?;
    // Rust's float grammar is strtod's decimal grammar minus the leading whitespace, plus
    // nothing strtod rejects; it parses correctly rounded, as glibc does.
    std::str::from_utf8(&s[start..]).ok()?.parse().ok()
}

/// A score held in a compact encoding: integer entries convert exactly as Redis's
/// `zzlGetScore` does (`(double)vlong`), text entries go through [`parse_double_text`].
#[inline]
pub fn str_to_f64(s: Str<'_>) -> Option<f64> {
    match s {
        Str::Int(i) => Some(i as f64),
        Str::Bytes(b) => parse_double_text(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<f64> {
        parse_double_text(s.as_bytes())
    }

    #[test]
    fn what_redis_writes() {
        assert_eq!(p("0"), Some(0.0));
        assert_eq!(p("1"), Some(1.0));
        assert_eq!(p("-12"), Some(-12.0));
        assert_eq!(p("1.5"), Some(1.5));
        assert_eq!(p("0.10000000000000001"), Some(0.1));
        assert_eq!(p("3.1415926535897931"), Some(std::f64::consts::PI));
        assert_eq!(p("1.0000000000000001e+20"), Some(1.0000000000000001e20));
        assert_eq!(p("1e+20"), Some(1e20));
        assert_eq!(p("2.2250738585072014e-308"), Some(f64::MIN_POSITIVE));
        assert_eq!(p("4.9406564584124654e-324"), Some(5e-324));
        assert_eq!(p("1.7976931348623157e+308"), Some(f64::MAX));
        assert_eq!(p("9007199254740993"), Some(9007199254740992.0));
        assert_eq!(p("inf"), Some(f64::INFINITY));
        assert_eq!(p("-inf"), Some(f64::NEG_INFINITY));
        assert!(p("nan").unwrap().is_nan());
        assert!(p("-nan").unwrap().is_nan());
        let z = p("-0").unwrap();
        assert!(z == 0.0 && z.is_sign_negative());
    }

    #[test]
    fn what_strtod_also_accepts() {
        assert_eq!(p("+1.5"), Some(1.5));
        assert_eq!(p(".5"), Some(0.5));
        assert_eq!(p("5."), Some(5.0));
        assert_eq!(p("1E5"), Some(1e5));
        assert_eq!(p("Infinity"), Some(f64::INFINITY));
        assert_eq!(p("-INF"), Some(f64::NEG_INFINITY));
        assert!(p("NaN").unwrap().is_nan());
        assert_eq!(p("  \t42"), Some(42.0));
        assert_eq!(p("1e400"), Some(f64::INFINITY));
        assert_eq!(p("-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(p("1e-400"), Some(0.0));
    }

    #[test]
    fn rejected() {
        for s in [
            "", " ", "-", "+", ".", "e5", "1e", "1e+", "abc", "1.5x", "1 ", "0x10", "0x1p3", "nan(1)", "1,5", "--1",
            "\u{0}",
        ] {
            assert_eq!(p(s), None, "{s:?}");
        }
        assert_eq!(parse_double_text(&[b'1', 0xFF]), None);
    }

    #[test]
    fn from_compact_entries() {
        assert_eq!(str_to_f64(Str::Int(-3)), Some(-3.0));
        assert_eq!(str_to_f64(Str::Int(i64::MAX)), Some(9223372036854775807.0));
        assert_eq!(str_to_f64(Str::Bytes(b"2.5")), Some(2.5));
        assert_eq!(str_to_f64(Str::Bytes(b"x")), None);
    }
}
