//! A git repository on disk that answers the GitHub REST subset fgd-sync uses (Git Data refs,
//! trees, blobs and commits; the Contents API; the repository itself), in-process.
//!
//! It stores everything with the real `git` CLI (real objects, real refs), so a repository it
//! served can be inspected with `git log` and checked with `git fsck`. Ref moves are
//! compare-and-swap (`git update-ref <ref> <new> <old>`), so several processes may serve one
//! repository at once. Statuses and error texts follow `shared/facts/github-rest.md`.
//!
//! 1. [`LocalGitHub::init`] an empty bare repository (or [`LocalGitHub::open`] one).
//! 2. Call [`LocalGitHub::handle`] with an [`ApiRequest`]; it never panics and always answers.
//!
//! ```no_run
//! use fgd_sync_local_github::{ApiRequest, LocalGitHub, Options};
//! let gh = LocalGitHub::init("/tmp/fabric.git", "acme", "fabric", Options::default()).unwrap();
//! let req = ApiRequest { method: "GET".into(), path_and_query: "/repos/acme/fabric/git/ref/heads/main".into(), ..Default::default() };
//! assert_eq!(gh.handle(&req).status, 409); // empty repository
//! ```
//!
//! With the feature `testing` (never enabled by the product), `openapi` checks JSON against
//! GitHub's OpenAPI description and `testing` holds fixtures (a private temporary directory);
//! tests of this crate and of the HTTP stand-in use them.

mod contents;
mod date;
mod git;
mod history;
mod local;
mod objects;
#[cfg(any(test, feature = "testing"))]
pub mod openapi;
mod refs;
mod render;
mod reply;
mod routes;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tree_edit;
mod validate;

/// The one RFC 3339 formatter of the workspace (the host's NetBox writes and error texts use it).
pub use date::{format_utc, now as unix_now};
pub use git::{isolated_command as isolated_git_command, GitError};
pub use local::{ApiRequest, ApiResponse, Error, Identity, LocalGitHub, Options, MAX_TREE_ENTRIES};
pub use render::base64_wrapped;
