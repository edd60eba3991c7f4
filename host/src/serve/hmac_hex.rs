//! Hex HMACs of webhook bodies, the one check both senders' signatures go through: NetBox's
//! HMAC-SHA512 (`X-Hook-Signature`) and GitHub's HMAC-SHA256 (`X-Hub-Signature-256`).

use hmac::digest::KeyInit;
use hmac::Mac;

/// Why a hex HMAC was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not hex, or not as long as the MAC.
    Malformed,
    /// A well-formed HMAC, but not of this body with this secret.
    Mismatch,
}

/// Checks that `hex` is the HMAC of `body` keyed with `secret`, in constant time. Upper-case
/// hex is accepted too.
pub fn verify<M: Mac + KeyInit>(secret: &[u8], hex: &[u8], body: &[u8]) -> Result<(), Refused> {
    let expected = decode(hex).filter(|b| b.len() == M::output_size()).ok_or(Refused::Malformed)?;
    // HMAC takes keys of any length: `new_from_slice` does not fail.
    let mut mac = <M as Mac>::new_from_slice(secret).map_err(|_| Refused::Mismatch)?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).map_err(|_| Refused::Mismatch)
}

/// The lowercase hex HMAC of `body` (what the senders send; for tests and tools).
pub fn sign<M: Mac + KeyInit>(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = <M as Mac>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digits (either case) to bytes; `None` for an odd length or a non-hex digit.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}
