//! "It never loses work" (issue 10), end to end: the real binary, real git repositories and
//! the GitHub and HNP stand-ins. One module per part of the promise.

mod bases;
mod engine;
mod host;
mod robust;
