//! "It never loses work" (issue 10), end to end: the real binary, real git repositories and
//! the GitHub and HNP stand-ins. One module per part of the promise.

mod bases;
mod engine;
mod host;
mod robust;

/// A VPC manifest as users write it, with one subnet on `vlan`.
pub(super) fn vpc(name: &str, vlan: u32) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    \
         default:\n      subnet: 10.0.1.0/24\n      vlan: {vlan}\n"
    )
}
