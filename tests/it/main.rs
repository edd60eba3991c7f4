//! The one end-to-end test binary: each module covers one capability; `kit` is the set-up
//! they share.

mod differential;
mod github_e2e;
mod hnp_standin;
mod hosts;
mod kit;
mod live_github;
mod local_e2e;
mod netbox;
mod netbox_status;
mod never_lose_work;
mod pull;
mod sandbox;
mod security;
mod serve;
mod serve_github;
mod standin;
mod tidy;
mod ui;
