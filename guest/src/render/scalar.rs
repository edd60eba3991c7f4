//! How one string is written: plain when provably read back as the same string by every YAML
//! reader we meet, else double-quoted with escapes.

use super::yaml11;

/// Characters that may not start a plain scalar (YAML indicators), plus `-`, `?` and `:`,
/// which may start one when a non-space follows but are not worth the risk.
const LEADING_INDICATORS: &str = "-?:,[]{}#&*!|>'\"%@`";

/// Writes `s` as a YAML scalar: plain when safe, else double-quoted.
pub fn write_str(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_double_quoted(out, s);
    }
}

/// True when `s` can be written unquoted and is read back as this very string by PyYAML
/// (YAML 1.1), go-yaml v2 and YAML 1.2 core-schema parsers, as a value or as a block
/// mapping key.
pub fn is_plain_safe(s: &str) -> bool {
    plain_syntax_ok(s) && !yaml11::non_string_somewhere(s)
}

fn plain_syntax_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    !LEADING_INDICATORS.contains(first)
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        // A document end marker at the start of a line would end the document.
        && !s.starts_with("...")
        // `: ` starts a mapping value, ` #` a comment; a trailing `:` reads as a key.
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && s.chars().all(|c| c == ' ' || (!c.is_whitespace() && !must_escape(c) && !c.is_control()))
}

/// Characters that YAML 1.1 does not allow raw in a stream (outside its printable set), or
/// that it treats as line breaks (NEL, LS, PS), or a byte-order mark: always escaped.
fn must_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// `"..."` with `\"`, `\\`, `\n`, `\t`, `\r` and `\uXXXX` for other control characters.
/// Printable non-ASCII characters stay UTF-8.
pub fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if must_escape(c) => {
                // All such characters are in the Basic Multilingual Plane.
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn check(input: &str, want: &str) {
        let mut out = String::new();
        write_str(&mut out, input);
        assert_eq!(out, want, "rendering {input:?}");
    }

    #[test]
    fn plain_or_quoted() {
        let cases = [
            ("leaf-01", "leaf-01"),
            ("10.10.131.0/24", "10.10.131.0/24"),
            ("65102:5000", "65102:5000"),
            ("65102:50", "\"65102:50\""),
            ("0c:20:12:ff:02:00", "0c:20:12:ff:02:00"),
            ("a:b", "a:b"),
            ("vpc-0=10.0.0.0/24,vpc-0=10.4.0.0/24", "vpc-0=10.0.0.0/24,vpc-0=10.4.0.0/24"),
            ("on", "\"on\""),
            ("y", "\"y\""),
            ("0777", "\"0777\""),
            ("", "\"\""),
            (" lead", "\" lead\""),
            ("trail ", "\"trail \""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("x:", "\"x:\""),
            ("#x", "\"#x\""),
            ("- x", "\"- x\""),
            ("-x", "\"-x\""),
            ("...", "\"...\""),
            ("multi\nline", "\"multi\\nline\""),
            ("tab\t", "\"tab\\t\""),
            ("say \"hi\"", "say \"hi\""),
            ("\"", "\"\\\"\""),
            ("back\\slash", "back\\slash"),
            ("ä", "ä"),
            ("\u{7}", "\"\\u0007\""),
            ("x\u{2028}y", "\"x\\u2028y\""),
            ("=", "\"=\""),
            ("<<", "\"<<\""),
        ];
        for (input, want) in cases {
            check(input, want);
        }
    }
}
