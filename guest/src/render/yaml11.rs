//! What an unquoted (plain) YAML scalar means: PyYAML's YAML 1.1 implicit resolvers and
//! constructors, plus go-yaml v2's and the YAML 1.2 core schema's resolution. The one place
//! that decides this, for the renderer (may a string go unquoted?) and the manifest parser
//! (what does an unquoted scalar hold?).
//!
//! PyYAML's regexes (`yaml/resolver.py`) are matched by hand, one function per regex, so the
//! guest needs no regex engine. Each matcher consumes a whole digit run where the regex's
//! `[0-5]?[0-9]` or `[0-9][0-9]?` could only be followed by a non-digit, which makes the
//! hand-written matchers backtracking-free yet equivalent.

use serde_json::{Number, Value};

/// The tag PyYAML's `Resolver` gives a plain scalar (YAML 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    /// `<<`: the merge key.
    Merge,
    /// `=`: the "value" key, which PyYAML's safe loader cannot construct.
    Value,
    Str,
}

/// A plain scalar, constructed as PyYAML's `SafeConstructor` would, except that timestamps
/// stay the text they are (JSON has no dates).
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    Value(Value),
    /// `<<` in key position.
    Merge,
}

/// PyYAML's implicit resolution of a plain scalar.
pub fn pyyaml_tag(s: &str) -> Tag {
    let b = s.as_bytes();
    if is_null(s) {
        Tag::Null
    } else if is_bool(s) {
        Tag::Bool
    } else if is_float11(b) {
        Tag::Float
    } else if is_int11(b) {
        Tag::Int
    } else if is_timestamp11(b) {
        Tag::Timestamp
    } else if s == "<<" {
        Tag::Merge
    } else if s == "=" {
        Tag::Value
    } else {
        Tag::Str
    }
}

/// True when some YAML reader this project's files meet (PyYAML, go-yaml v2 as used by
/// Kubernetes, any YAML 1.2 core-schema parser) reads the plain scalar `s` as something other
/// than a string. Such a string must be quoted.
pub fn non_string_somewhere(s: &str) -> bool {
    pyyaml_tag(s) != Tag::Str || go_yaml_v2_non_string(s) || core12_non_string(s)
}

/// The value of a plain scalar under YAML 1.1 as PyYAML's safe loader reads it. `is_key`
/// admits `<<` (merge) and `=` (a string as a key, an error as a value, as in PyYAML).
pub fn plain_value(s: &str, is_key: bool) -> Result<Plain, String> {
    let value = match pyyaml_tag(s) {
        Tag::Null => Value::Null,
        Tag::Bool => Value::Bool(construct_bool(s).ok_or_else(|| format!("{s:?} is not a boolean"))?),
        Tag::Int => Value::Number(construct_int(s)?),
        Tag::Float => Value::Number(float_number(s, construct_float(s)?)?),
        Tag::Timestamp | Tag::Str => Value::String(s.to_string()),
        Tag::Merge if is_key => return Ok(Plain::Merge),
        Tag::Value if is_key => Value::String(s.to_string()),
        Tag::Merge => return Err("a plain `<<` is YAML 1.1's merge key and is only allowed as a key; quote it".into()),
        Tag::Value => {
            return Err("a plain `=` is YAML 1.1's value key, which PyYAML cannot load as a value; quote it".into())
        }
    };
    Ok(Plain::Value(value))
}

/// JSON has no infinities or NaN.
pub fn float_number(text: &str, f: f64) -> Result<Number, String> {
    Number::from_f64(f).ok_or_else(|| format!("{text:?} is {f}, which JSON cannot represent"))
}

// ---------------------------------------------------------------------------------------
// PyYAML's implicit resolvers.

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn is_bool(s: &str) -> bool {
    matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A cursor over ASCII bytes for the hand-written matchers.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, i: 0 }
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    /// Eats bytes while `f` holds; returns how many.
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat_if(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }
    /// `[0-5]?[0-9]` followed by a non-digit: the digit run is one digit, or two starting 0-5.
    fn sexagesimal_digits(&mut self) -> bool {
        let start = self.i;
        let n = self.eat_while(is_digit);
        n == 1 || (n == 2 && self.b[start] <= b'5')
    }
    /// `[0-9][0-9]?` followed by a non-digit.
    fn one_or_two_digits(&mut self) -> bool {
        matches!(self.eat_while(is_digit), 1 | 2)
    }
    fn exactly_digits(&mut self, n: usize) -> bool {
        (0..n).all(|_| self.eat_if(is_digit))
    }
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}
fn is_digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `(?:[eE][-+][0-9]+)?` then the end.
fn exponent11_then_end(c: &mut Cur) -> bool {
    if c.eat(b'e') || c.eat(b'E') {
        if !(c.eat(b'-') || c.eat(b'+')) {
            return false;
        }
        if c.eat_while(is_digit) == 0 {
            return false;
        }
    }
    c.done()
}

/// PyYAML's float regex:
/// `[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?`
/// `| \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?`
/// `| [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*`
/// `| [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`
fn is_float11(b: &[u8]) -> bool {
    let unsigned = b.strip_prefix(b"-").or_else(|| b.strip_prefix(b"+"));
    let signed = unsigned.is_some();
    let rest = unsigned.unwrap_or(b);
    if matches!(rest, b".inf" | b".Inf" | b".INF") || (!signed && matches!(rest, b".nan" | b".NaN" | b".NAN")) {
        return true;
    }
    // `\.[0-9][0-9_]*(exp)?` takes no sign.
    if !signed && b.first() == Some(&b'.') {
        let mut c = Cur::new(b);
        c.i = 1;
        return c.eat_if(is_digit) && {
            c.eat_while(is_digit_);
            exponent11_then_end(&mut c)
        };
    }
    let mut c = Cur::new(rest);
    if !c.eat_if(is_digit) {
        return false;
    }
    c.eat_while(is_digit_);
    if c.eat(b'.') {
        c.eat_while(is_digit_);
        return exponent11_then_end(&mut c);
    }
    // Sexagesimal: one or more `:[0-5]?[0-9]`, then `.` and `[0-9_]*`.
    let mut groups = 0;
    while c.eat(b':') {
        if !c.sexagesimal_digits() {
            return false;
        }
        groups += 1;
    }
    groups > 0 && c.eat(b'.') && {
        c.eat_while(is_digit_);
        c.done()
    }
}

/// PyYAML's int regex:
/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+`
/// `| [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`
fn is_int11(b: &[u8]) -> bool {
    let mut c = Cur::new(b);
    c.sign();
    let rest = &b[c.i..];
    if rest == b"0" {
        return true;
    }
    if let Some(bits) = rest.strip_prefix(b"0b") {
        return !bits.is_empty() && bits.iter().all(|&d| matches!(d, b'0' | b'1' | b'_'));
    }
    if let Some(hex) = rest.strip_prefix(b"0x") {
        return !hex.is_empty() && hex.iter().all(|&d| d.is_ascii_hexdigit() || d == b'_');
    }
    if let Some(oct) = rest.strip_prefix(b"0") {
        return !oct.is_empty() && oct.iter().all(|&d| matches!(d, b'0'..=b'7' | b'_'));
    }
    let mut c = Cur::new(rest);
    if !c.eat_if(|d| matches!(d, b'1'..=b'9')) {
        return false;
    }
    c.eat_while(is_digit_);
    while c.eat(b':') {
        if !c.sexagesimal_digits() {
            return false;
        }
    }
    c.done()
}

/// PyYAML's timestamp regex:
/// `[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]`
/// `| [0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]`
/// `  (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?`
fn is_timestamp11(b: &[u8]) -> bool {
    let mut c = Cur::new(b);
    if !(c.exactly_digits(4) && c.eat(b'-')) {
        return false;
    }
    let month = c.eat_while(is_digit);
    if !(1..=2).contains(&month) || !c.eat(b'-') {
        return false;
    }
    let day = c.eat_while(is_digit);
    if !(1..=2).contains(&day) {
        return false;
    }
    if c.done() {
        // The date-only form wants two-digit month and day.
        return month == 2 && day == 2;
    }
    let separated = c.eat(b'T') || c.eat(b't') || c.eat_while(|d| d == b' ' || d == b'\t') > 0;
    if !(separated && c.one_or_two_digits() && c.eat(b':') && c.exactly_digits(2) && c.eat(b':')) {
        return false;
    }
    if !c.exactly_digits(2) {
        return false;
    }
    if c.eat(b'.') {
        c.eat_while(is_digit);
    }
    if c.done() {
        return true;
    }
    c.eat_while(|d| d == b' ' || d == b'\t');
    if c.eat(b'Z') {
        return c.done();
    }
    if !(c.eat(b'-') || c.eat(b'+')) || !c.one_or_two_digits() {
        return false;
    }
    if c.eat(b':') && !(c.exactly_digits(2) && c.done()) {
        return false;
    }
    c.done()
}

// ---------------------------------------------------------------------------------------
// PyYAML's constructors (`yaml/constructor.py`, `SafeConstructor`).

/// `construct_yaml_bool`: the lower-cased text in PyYAML's table.
pub fn construct_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// `construct_yaml_int`: `_` dropped; `0b` binary, `0x` hex, a leading `0` octal, `a:b:c`
/// base 60. Python's ints are unbounded; JSON numbers here are i64 or u64.
pub fn construct_int(s: &str) -> Result<Number, String> {
    let bad = || format!("{s:?} is not an integer");
    let text: String = s.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = split_sign(&text);
    let magnitude: u128 = if digits == "0" {
        0
    } else if let Some(bits) = digits.strip_prefix("0b") {
        parse_radix(bits, 2).ok_or_else(bad)?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        parse_radix(hex, 16).ok_or_else(bad)?
    } else if digits.starts_with('0') {
        parse_radix(digits, 8).ok_or_else(bad)?
    } else if digits.contains(':') {
        let mut value: u128 = 0;
        for part in digits.split(':') {
            let part = parse_radix(part, 10).ok_or_else(bad)?;
            value = value.checked_mul(60).and_then(|v| v.checked_add(part)).ok_or_else(|| out_of_range(s))?;
        }
        value
    } else {
        parse_radix(digits, 10).ok_or_else(bad)?
    };
    int_number(s, negative, magnitude)
}

fn out_of_range(s: &str) -> String {
    format!("integer {s:?} is out of range (JSON numbers here are 64-bit)")
}

/// A signed magnitude as an i64 or u64 JSON number.
pub fn int_number(text: &str, negative: bool, magnitude: u128) -> Result<Number, String> {
    if negative {
        let v = i128::try_from(magnitude).map(|m| -m).map_err(|_| out_of_range(text))?;
        i64::try_from(v).map(Number::from).map_err(|_| out_of_range(text))
    } else {
        u64::try_from(magnitude).map(Number::from).map_err(|_| out_of_range(text))
    }
}

fn split_sign(s: &str) -> (bool, &str) {
    if let Some(rest) = s.strip_prefix('-') {
        (true, rest)
    } else {
        (false, s.strip_prefix('+').unwrap_or(s))
    }
}

/// Digits in `radix`, at least one; None when empty, malformed or beyond u128.
fn parse_radix(digits: &str, radix: u32) -> Option<u128> {
    if digits.is_empty() {
        return None;
    }
    digits.chars().try_fold(0u128, |acc, ch| {
        let d = ch.to_digit(radix)?;
        acc.checked_mul(u128::from(radix))?.checked_add(u128::from(d))
    })
}

/// `construct_yaml_float`: `_` dropped, lower-cased; `.inf`, `.nan`, base 60 with `:`.
pub fn construct_float(s: &str) -> Result<f64, String> {
    let bad = || format!("{s:?} is not a float");
    let text: String = s.chars().filter(|&c| c != '_').collect::<String>().to_ascii_lowercase();
    let (negative, body) = split_sign(&text);
    let sign = if negative { -1.0 } else { 1.0 };
    let magnitude = if body == ".inf" {
        f64::INFINITY
    } else if body == ".nan" {
        return Ok(f64::NAN);
    } else if body.contains(':') {
        // Same order of operations as PyYAML: least significant part first, base *= 60.
        let mut value = 0.0;
        let mut base = 1.0;
        for part in body.rsplit(':') {
            value += python_float(part).ok_or_else(bad)? * base;
            base *= 60.0;
        }
        value
    } else {
        python_float(body).ok_or_else(bad)?
    };
    Ok(sign * magnitude)
}

/// Python's `float()` for the decimal forms PyYAML hands it (`1.`, `.5`, `1.5e+3`).
fn python_float(s: &str) -> Option<f64> {
    let ok = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'));
    if !ok {
        return None;
    }
    s.parse::<f64>().ok()
}

// ---------------------------------------------------------------------------------------
// go-yaml v2 (`resolve.go`), as Kubernetes tooling reads YAML. Deliberately generous: a
// string that go-yaml might read as a number or time is quoted, never the other way round.

fn go_yaml_v2_non_string(s: &str) -> bool {
    let in_table = matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "true"
            | "True"
            | "TRUE"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "false"
            | "False"
            | "FALSE"
            | "off"
            | "Off"
            | "OFF"
            | ""
            | "~"
            | "null"
            | "Null"
            | "NULL"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | "<<"
    );
    if in_table {
        return true;
    }
    let b = s.as_bytes();
    match b.first() {
        // `strconv.ParseFloat` on the text as is.
        Some(b'.') => {
            let mut c = Cur::new(b);
            c.i = 1;
            c.eat_while(is_digit) > 0 && go_exponent_then_end(&mut c)
        }
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain: Vec<u8> = b.iter().copied().filter(|&c| c != b'_').collect();
            go_timestamp_shape(b) || go_int_base0(&plain) || go_style_float(&plain)
        }
        _ => false,
    }
}

/// `(?:[eE][-+]?[0-9]+)?` then the end.
fn go_exponent_then_end(c: &mut Cur) -> bool {
    if c.eat(b'e') || c.eat(b'E') {
        c.sign();
        if c.eat_while(is_digit) == 0 {
            return false;
        }
    }
    c.done()
}

/// `strconv.ParseInt(s, 0, 64)` syntax, range aside (out-of-range ints become floats there).
fn go_int_base0(b: &[u8]) -> bool {
    let mut c = Cur::new(b);
    c.sign();
    let rest = &b[c.i..];
    let all = |digits: &[u8], f: fn(u8) -> bool| !digits.is_empty() && digits.iter().all(|&d| f(d));
    if let Some(hex) = rest.strip_prefix(b"0x").or_else(|| rest.strip_prefix(b"0X")) {
        return all(hex, |d| d.is_ascii_hexdigit());
    }
    if let Some(oct) = rest.strip_prefix(b"0o").or_else(|| rest.strip_prefix(b"0O")) {
        return all(oct, |d| matches!(d, b'0'..=b'7'));
    }
    if let Some(bin) = rest.strip_prefix(b"0b").or_else(|| rest.strip_prefix(b"0B")) {
        return all(bin, |d| matches!(d, b'0' | b'1'));
    }
    if let Some(oct) = rest.strip_prefix(b"0") {
        return oct.iter().all(|&d| matches!(d, b'0'..=b'7'));
    }
    all(rest, is_digit)
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, which
/// is also the YAML 1.2 core schema's float (without `.inf`/`.nan`).
fn go_style_float(b: &[u8]) -> bool {
    let mut c = Cur::new(b);
    c.sign();
    if c.eat(b'.') {
        if c.eat_while(is_digit) == 0 {
            return false;
        }
    } else {
        if c.eat_while(is_digit) == 0 {
            return false;
        }
        if c.eat(b'.') {
            c.eat_while(is_digit);
        }
    }
    go_exponent_then_end(&mut c)
}

/// The shapes of go-yaml v2's timestamp layouts (`2006-1-2`, `2006-1-2 15:4:5.999999999`,
/// `2006-1-2T15:4:5.999999999Z07:00`), without `time.Parse`'s range checks.
fn go_timestamp_shape(b: &[u8]) -> bool {
    let mut c = Cur::new(b);
    if !(c.exactly_digits(4) && c.eat(b'-') && c.one_or_two_digits() && c.eat(b'-') && c.one_or_two_digits()) {
        return false;
    }
    if c.done() {
        return true;
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return false;
    }
    let time = c.one_or_two_digits() && c.eat(b':') && c.one_or_two_digits() && c.eat(b':') && c.one_or_two_digits();
    if !time {
        return false;
    }
    if c.eat(b'.') && c.eat_while(is_digit) == 0 {
        return false;
    }
    if c.done() || (c.eat(b'Z') && c.done()) {
        return true;
    }
    (c.eat(b'+') || c.eat(b'-')) && c.exactly_digits(2) && c.eat(b':') && c.exactly_digits(2) && c.done()
}

// ---------------------------------------------------------------------------------------
// YAML 1.2 core schema.

fn core12_non_string(s: &str) -> bool {
    if matches!(s, "" | "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return true;
    }
    let b = s.as_bytes();
    let unsigned = b.strip_prefix(b"-").or_else(|| b.strip_prefix(b"+")).unwrap_or(b);
    if matches!(unsigned, b".inf" | b".Inf" | b".INF") || matches!(b, b".nan" | b".NaN" | b".NAN") {
        return true;
    }
    let all = |digits: &[u8], f: fn(u8) -> bool| !digits.is_empty() && digits.iter().all(|&d| f(d));
    if let Some(oct) = b.strip_prefix(b"0o") {
        return all(oct, |d| matches!(d, b'0'..=b'7'));
    }
    if let Some(hex) = b.strip_prefix(b"0x") {
        return all(hex, |d| d.is_ascii_hexdigit());
    }
    // `[-+]?[0-9]+` is covered by the float form.
    go_style_float(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn check_tag(input: &str, want: Tag) {
        assert_eq!(pyyaml_tag(input), want, "pyyaml tag of {input:?}");
    }

    #[test]
    fn pyyaml_tags() {
        use Tag::*;
        let cases = [
            ("", Null),
            ("~", Null),
            ("null", Null),
            ("NULL", Null),
            ("nUll", Str),
            ("yes", Bool),
            ("No", Bool),
            ("ON", Bool),
            ("oN", Str),
            ("y", Str),
            ("n", Str),
            ("0", Int),
            ("-0", Int),
            ("0777", Int),
            ("0778", Str),
            ("09", Str),
            ("0x1F", Int),
            ("0X1F", Str),
            ("0b101", Int),
            ("0o17", Str),
            ("1_000", Int),
            ("190:20:30", Int),
            ("65102:5000", Str),
            ("65102:50", Int),
            ("65102:60", Str),
            ("12:34:56:12:34:56", Int),
            ("0c:20:12:ff:02:00", Str),
            ("00:11:22:33:44:55", Str),
            ("1.5", Float),
            ("1.", Float),
            (".5", Float),
            ("-.5", Str),
            ("1e3", Str),
            ("1.0e3", Str),
            ("1.0e+3", Float),
            ("6.8523015e+5", Float),
            ("1_000.5", Float),
            ("190:20:30.15", Float),
            (".inf", Float),
            ("-.Inf", Float),
            ("+.INF", Float),
            (".NaN", Float),
            ("-.nan", Str),
            ("10.0.0.1", Str),
            ("10.10.131.0/24", Str),
            ("2001-12-14", Timestamp),
            ("2001-1-14", Str),
            ("2001-12-14t21:59:43.10-05:00", Timestamp),
            ("2001-12-14 21:59:43.10 -5", Timestamp),
            ("2001-12-14 21:59:43.10 ", Str),
            ("2001-12-14T21:59:43Z", Timestamp),
            ("2001-12-14T21:59:43.10+05:3", Str),
            ("<<", Merge),
            ("=", Value),
            ("leaf-01", Str),
        ];
        for (input, want) in cases {
            check_tag(input, want);
        }
    }

    #[test]
    fn constructs_like_pyyaml() {
        let n = |s: &str| construct_int(s).map(|n| n.to_string());
        assert_eq!(n("0777"), Ok("511".into()));
        assert_eq!(n("-0b101"), Ok("-5".into()));
        assert_eq!(n("0x_1F"), Ok("31".into()));
        assert_eq!(n("190:20:30"), Ok("685230".into()));
        assert_eq!(n("1_000"), Ok("1000".into()));
        assert_eq!(n("18446744073709551615"), Ok("18446744073709551615".into()));
        assert!(n("18446744073709551616").is_err());
        assert_eq!(n("-9223372036854775808"), Ok("-9223372036854775808".into()));
        assert!(n("-9223372036854775809").is_err());
        assert!(n("0b_").is_err());
        assert_eq!(construct_float("190:20:30.15"), Ok(685230.15));
        assert_eq!(construct_float("1."), Ok(1.0));
        assert_eq!(construct_float("1.e+3"), Ok(1000.0));
        assert_eq!(construct_float("-.Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(construct_float("1_000.5"), Ok(1000.5));
        assert_eq!(construct_bool("Off"), Some(false));
        assert!(plain_value(".nan", false).is_err());
        assert!(plain_value("=", false).is_err());
        assert_eq!(plain_value("=", true), Ok(Plain::Value(Value::String("=".into()))));
        assert_eq!(plain_value("<<", true), Ok(Plain::Merge));
        assert_eq!(plain_value("2001-12-14", false), Ok(Plain::Value(Value::String("2001-12-14".into()))));
    }

    #[test]
    fn other_readers() {
        for s in ["y", "N", "0o17", "0X1F", "09", "1e3", "1E3", ".5e3", "2001-1-2", "+12", "-0x1", "1_0e1"] {
            assert!(non_string_somewhere(s), "{s:?} should be quoted");
        }
        for s in ["10.0.0.1", "65102:5000", "leaf-01/E1/8", "0c:20:12:ff:02:00", "2001-12", "e3", "1.2.3", "x"] {
            assert!(!non_string_somewhere(s), "{s:?} can stay plain");
        }
    }
}
