//! The cassette: one recorded run of a `sync` operation as versioned JSON. It holds the
//! invocation (operation, target, options), every import answer the guest got (HTTP
//! exchanges, `hnp` calls, clock readings), the random pool, and the report printed then.

use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::runtime::{Operation, SyncCall};
use crate::wit::{CustomResource, HnpChange, ResourceRef, Selection, SyncOptions, Synced, Target};

/// The `format` field of every cassette.
pub const FORMAT: &str = "fgd-sync-cassette";
/// Bumped when a field changes meaning or goes away; older cassettes are refused.
pub const VERSION: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cassette {
    pub format: String,
    pub version: u32,
    /// `fgd-sync <version>` that recorded it.
    pub recorded_by: String,
    /// SHA-1 of the component that ran; replaying with another one is allowed but warned about.
    pub component: String,
    pub invocation: Invocation,
    /// The bytes `wasi:random` handed out (hex), cycled from the start in every store.
    pub random: String,
    /// Every import call the guest made, in order.
    pub events: Vec<Event>,
    /// The outcome as `sync --json` printed it; `None` when the host failed before one existed.
    pub report: Option<serde_json::Value>,
}

/// What was run, and what the report says about where (the guest never sees `remote`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub operation: Operation,
    pub fabric: String,
    pub selection: Selection,
    pub target: Target,
    pub options: SyncOptions,
    /// `Remote::describe()` of the recorded run, e.g. `octo/fabric at https://api.github.com`.
    pub remote: String,
}

impl Invocation {
    pub fn new(call: &SyncCall, target: &Target, options: &SyncOptions, remote: String) -> Invocation {
        let SyncCall { operation, fabric, selection } = call.clone();
        Invocation { operation, fabric, selection, target: target.clone(), options: options.clone(), remote }
    }

    pub fn call(&self) -> SyncCall {
        SyncCall::new(self.operation, self.fabric.clone(), self.selection.clone())
    }
}

/// One import call and its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Http(HttpExchange),
    Hnp(HnpExchange),
    /// `wasi:clocks/wall-clock.now`.
    WallClock {
        secs: u64,
        nanos: u32,
    },
    /// `wasi:clocks/monotonic-clock.now`, in nanoseconds.
    MonotonicClock(u64),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpExchange {
    pub request: HttpRequest,
    pub answer: HttpAnswer,
}

/// A request as the guest made it (secret headers left out; the host adds the token later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpAnswer {
    Response(HttpResponse),
    /// No HTTP answer: what the guest's `wasi:http` call failed with.
    Error(TransportError),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// A body: text when it is UTF-8 (GitHub's JSON), base64 otherwise, so cassettes stay readable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Body {
    #[default]
    Empty,
    Text(String),
    Binary {
        base64: String,
    },
}

impl Body {
    pub fn from_bytes(bytes: &[u8]) -> Body {
        match std::str::from_utf8(bytes) {
            _ if bytes.is_empty() => Body::Empty,
            Ok(text) => Body::Text(text.to_string()),
            Err(_) => Body::Binary { base64: base64::engine::general_purpose::STANDARD.encode(bytes) },
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.as_bytes().to_vec(),
            // A cassette edited by hand may hold bad base64: the guest then sees no body.
            Body::Binary { base64 } => base64::engine::general_purpose::STANDARD.decode(base64).unwrap_or_default(),
        }
    }
}

/// Why a request got no HTTP answer, as the guest's `wasi:http` error code. Errors the
/// recorder cannot name exactly are kept as `internal` with their text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportError {
    HttpRequestDenied,
    ConnectionRefused,
    ConnectionTerminated,
    ConnectionTimeout,
    ConnectionReadTimeout,
    ConnectionWriteTimeout,
    DnsTimeout,
    DnsError { rcode: Option<String>, info_code: Option<u16> },
    DestinationNotFound,
    DestinationUnavailable,
    TlsProtocolError,
    TlsCertificateError,
    HttpRequestBodySize(Option<u64>),
    HttpResponseIncomplete,
    HttpResponseBodySize(Option<u64>),
    HttpResponseTimeout,
    HttpProtocolError,
    Internal(Option<String>),
}

/// One `hnp` import call and its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HnpExchange {
    List {
        fabric: String,
        answer: Result<Vec<CustomResource>, String>,
    },
    Get {
        fabric: String,
        reference: ResourceRef,
        answer: Result<Option<CustomResource>, String>,
    },
    /// `apply-changes`: the CR writes of a pull.
    Apply {
        fabric: String,
        changes: Vec<HnpChange>,
        answer: Result<Vec<Option<String>>, String>,
    },
    Record {
        fabric: String,
        entries: Vec<Synced>,
        answer: Result<(), String>,
    },
}

impl HnpExchange {
    /// The call without its answer, for messages.
    pub fn describe_call(&self) -> String {
        match self {
            HnpExchange::List { fabric, .. } => format!("list-resources({fabric:?})"),
            HnpExchange::Get { fabric, reference, .. } => {
                format!("get-resource({fabric:?}, {})", reference)
            }
            HnpExchange::Apply { fabric, changes, .. } => {
                let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
                format!("apply-changes({fabric:?}, {} change(s): {})", changes.len(), paths.join(", "))
            }
            HnpExchange::Record { fabric, entries, .. } => {
                let paths: Vec<String> = entries.iter().map(|e| format!("{} {}", e.path, e.blob_sha)).collect();
                format!("record-synced({fabric:?}, {})", paths.join(", "))
            }
        }
    }
}

/// Why a cassette cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum CassetteError {
    Io(std::io::Error),
    Json(serde_json::Error),
    /// Not a cassette, or one of another version.
    Format {
        format: String,
        version: u32,
    },
    /// The random pool is not hex.
    Random,
}

impl std::fmt::Display for CassetteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CassetteError::Io(e) => write!(f, "{e}"),
            CassetteError::Json(e) => write!(f, "not a cassette: {e}"),
            CassetteError::Format { format, version } => {
                write!(f, "not a cassette this fgd-sync reads: format {format:?} version {version} (wanted {FORMAT:?} version {VERSION})")
            }
            CassetteError::Random => write!(f, "the random pool is not hex"),
        }
    }
}

impl std::error::Error for CassetteError {}

impl Cassette {
    pub fn load(path: &Path) -> Result<Cassette, CassetteError> {
        Cassette::parse(&std::fs::read_to_string(path).map_err(CassetteError::Io)?)
    }

    pub fn parse(text: &str) -> Result<Cassette, CassetteError> {
        let cassette: Cassette = serde_json::from_str(text).map_err(CassetteError::Json)?;
        if cassette.format != FORMAT || cassette.version != VERSION {
            return Err(CassetteError::Format { format: cassette.format, version: cassette.version });
        }
        cassette.random_pool()?;
        Ok(cassette)
    }

    /// Pretty JSON with a final newline; written to a new `0600` file (`O_EXCL`: never an
    /// existing file or symlink) under a temporary name, then renamed.
    pub fn save(&self, path: &Path) -> Result<(), CassetteError> {
        use std::io::Write;
        let mut text = serde_json::to_string_pretty(self).map_err(CassetteError::Json)?;
        text.push('\n');
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut f| f.write_all(text.as_bytes()));
        written.and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CassetteError::Io(e)
        })
    }

    pub fn random_pool(&self) -> Result<Vec<u8>, CassetteError> {
        decode_hex(&self.random).ok_or(CassetteError::Random)
    }
}

pub fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// SHA-1 of the component bytes, hex.
pub fn component_id(wasm: &[u8]) -> String {
    sha1_smol::Sha1::from(wasm).hexdigest()
}
