//! Which served fabric a webhook's CR belongs to. Payloads name a fabric by NetBox primary
//! key (HNP's serializer, every snapshot) or by name (a nested object); a key is looked up in
//! the NetBoxes the served fabrics use (`GET fabrics/<id>/`), one lookup at a time, and cached.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use super::webhook::FabricRef;
use super::FabricSpec;
use crate::net::client::{Client, Timeouts};
use crate::source::netbox::{NetBoxConfig, NetBoxSource};

/// How long a looked-up name is trusted (fabrics are rarely renamed).
const NAME_TTL: Duration = Duration::from_secs(600);
/// How long "no served fabric has this id" is trusted.
const UNKNOWN_TTL: Duration = Duration::from_secs(30);
const TIMEOUTS: Timeouts = Timeouts { connect: Duration::from_secs(5), response: Duration::from_secs(10) };

/// Where a CR's fabric leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A fabric this service syncs.
    Served(String),
    /// Anything else, described for logs and the response.
    NotServed(String),
}

/// A fabric id could not be looked up; the webhook answers 503.
#[derive(Debug)]
pub struct LookupError {
    pub url: String,
    pub message: String,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "looking up the fabric at {}: {}", self.url, self.message)
    }
}

impl std::error::Error for LookupError {}

/// One NetBox (base URL and token) and the served fabrics that read from it.
struct NetBox {
    api_root: String,
    headers: HeaderMap,
    fabrics: BTreeSet<String>,
}

#[derive(Clone)]
enum Cached {
    Name(String, Instant),
    Unknown(Instant),
}

pub struct FabricDirectory {
    served: BTreeSet<String>,
    netboxes: Vec<NetBox>,
    client: Client,
    cache: Mutex<HashMap<u64, Cached>>,
    /// One lookup at a time: a burst for a new id asks NetBox once.
    lookup: tokio::sync::Mutex<()>,
}

impl FabricDirectory {
    pub fn new(fabrics: &[FabricSpec]) -> anyhow::Result<FabricDirectory> {
        let client = Client::new(TIMEOUTS).with_max_body(1 << 20);
        let mut netboxes: Vec<NetBox> = Vec::new();
        for fabric in fabrics {
            let Some(config) = &fabric.netbox else { continue };
            // The source's own parsing of the base URL, so both agree on the API root.
            let source = NetBoxSource::new(NetBoxConfig::new(&config.base_url, &config.token), client.clone())?;
            let mut auth = HeaderValue::from_str(&format!("Token {}", config.token.trim()))?;
            auth.set_sensitive(true);
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, auth);
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            let same = |n: &&mut NetBox| n.api_root == source.api_root() && n.headers == headers;
            match netboxes.iter_mut().find(|n| same(n)) {
                Some(netbox) => {
                    netbox.fabrics.insert(fabric.name.clone());
                }
                None => netboxes.push(NetBox {
                    api_root: source.api_root().to_owned(),
                    headers,
                    fabrics: BTreeSet::from([fabric.name.clone()]),
                }),
            }
        }
        Ok(FabricDirectory {
            served: fabrics.iter().map(|f| f.name.clone()).collect(),
            netboxes,
            client,
            cache: Mutex::new(HashMap::new()),
            lookup: tokio::sync::Mutex::new(()),
        })
    }

    pub async fn resolve(&self, fabric: &FabricRef) -> Result<Resolved, LookupError> {
        let id = match fabric {
            FabricRef::Name(name) => return Ok(self.by_name(name)),
            FabricRef::Id(id) => *id,
        };
        if let Some(resolved) = self.cached(id) {
            return Ok(resolved);
        }
        let _one_at_a_time = self.lookup.lock().await;
        if let Some(resolved) = self.cached(id) {
            return Ok(resolved);
        }
        let mut named = None;
        for netbox in &self.netboxes {
            match self.fetch_name(netbox, id).await? {
                Some(name) if netbox.fabrics.contains(&name) => {
                    self.store(id, Cached::Name(name.clone(), Instant::now()));
                    return Ok(Resolved::Served(name));
                }
                Some(name) => named = Some(name),
                None => {}
            }
        }
        self.store(id, Cached::Unknown(Instant::now()));
        Ok(Resolved::NotServed(match named {
            Some(name) => format!("fabric {name:?} (id {id})"),
            None => format!("fabric id {id}"),
        }))
    }

    fn by_name(&self, name: &str) -> Resolved {
        if self.served.contains(name) {
            Resolved::Served(name.to_owned())
        } else {
            Resolved::NotServed(format!("fabric {name:?}"))
        }
    }

    fn cached(&self, id: u64) -> Option<Resolved> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(&id)? {
            Cached::Name(name, at) if at.elapsed() < NAME_TTL => Some(self.by_name(name)),
            Cached::Unknown(at) if at.elapsed() < UNKNOWN_TTL => Some(Resolved::NotServed(format!("fabric id {id}"))),
            _ => None,
        }
    }

    fn store(&self, id: u64, entry: Cached) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(id, entry);
    }

    /// The fabric's name in this NetBox; `None` when it has no fabric with this id.
    async fn fetch_name(&self, netbox: &NetBox, id: u64) -> Result<Option<String>, LookupError> {
        let url = format!("{}fabrics/{id}/", netbox.api_root);
        let fail = |message: String| LookupError { url: url.clone(), message };
        let response = self
            .client
            .request(Method::GET, &url, netbox.headers.clone(), None)
            .await
            .map_err(|e| fail(e.to_string()))?;
        match response.status {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let object: Value =
                    serde_json::from_slice(&response.body).map_err(|e| fail(format!("not JSON: {e}")))?;
                let name = object.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                name.map(|n| Some(n.to_owned())).ok_or_else(|| fail("the fabric has no `name`".into()))
            }
            status => Err(fail(format!("NetBox answered {status}"))),
        }
    }
}
