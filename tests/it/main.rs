//! The one end-to-end test binary: each module covers one capability.

mod netbox;
