//! Where CRs come from: implementations of the host side of the WIT `hnp` import. A
//! `CrSource` is NetBox (the HNP REST API) or a directory of manifests; the guest never knows
//! which. The trait lives in `runtime::hnp` (the runtime calls it); it is named here too
//! because every implementation starts from here.

pub mod directory;
pub mod netbox;

pub use crate::runtime::{BoxFuture, CrSource, Synced};
