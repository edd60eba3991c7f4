//! Generated host bindings for the `fgd-sync` world, kept in one place. WIT types derive
//! serde so reports go to `--json` and cassettes without hand-written copies.

wasmtime::component::bindgen!({
    world: "fgd-sync",
    path: "../wit",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});
