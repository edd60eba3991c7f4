//! Generated WIT bindings, kept in one place (the world `fgd-sync` in `wit/`).

wit_bindgen::generate!({
    world: "fgd-sync",
    path: "../wit",
});

use super::exports::Component;

export!(Component);
