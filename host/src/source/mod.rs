//! Where CRs come from: implementations of the host side of the WIT `hnp` import. A
//! `CrSource` is NetBox (the HNP REST API) or a directory of manifests; the guest never knows
//! which. The trait lives in `runtime::hnp` (the runtime calls it); it is named here too
//! because every implementation starts from here. `status` decides what a finished sync
//! shows on each CR (NetBox's `sync_error` and journal entries); sources that can show it do.

pub mod directory;
pub mod netbox;
pub mod status;

pub use crate::runtime::{BoxFuture, CrSource, Synced};
