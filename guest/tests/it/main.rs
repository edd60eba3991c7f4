//! The guest's one integration test binary: each module tests one part against real data.

mod engine;
mod fuzz_smoke;
mod manifest;
mod plan;
mod render;
mod support;
mod tree;
