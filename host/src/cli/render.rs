//! `fgd-sync render`: the canonical YAML of CR manifests, or their repository paths.

use std::io::{Read, Write as _};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::args::{offline_context, RuntimeArgs};
use crate::report::exit;
use crate::source::directory;

#[derive(Args, Clone, Debug)]
pub struct RenderCommand {
    /// Manifest file (YAML or JSON, one or more documents); `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Print each CR's path in the repository instead of its YAML.
    #[arg(long)]
    pub path: bool,
    /// The fabric directory for --path.
    #[arg(long, value_name = "PATH", default_value = "")]
    pub directory: String,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub async fn run(args: &RenderCommand) -> anyhow::Result<u8> {
    let (name, text) = match args.file.as_deref() {
        None => ("<stdin>".to_string(), read_stdin()?),
        Some(p) if p.as_os_str() == "-" => ("<stdin>".to_string(), read_stdin()?),
        Some(p) => {
            (p.display().to_string(), std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
    };
    let runtime = args.runtime.load()?;
    let resources = directory::parse(&runtime, offline_context(), &name, text).await?;
    // Render everything before printing anything: bad input prints nothing.
    let mut out = Vec::with_capacity(resources.len());
    for cr in resources {
        let text = if args.path {
            let reference = cr.reference();
            let path = runtime.manifest_path(offline_context(), args.directory.clone(), reference).await?;
            format!("{}\n", path.map_err(|e| anyhow::anyhow!(describe(&e)))?)
        } else {
            runtime.render(offline_context(), cr).await?.map_err(|e| anyhow::anyhow!(describe(&e)))?
        };
        out.push(text);
    }
    let separator = if args.path { "" } else { "---\n" };
    write!(super::stdout(), "{}", out.join(separator))?;
    Ok(exit::OK)
}

fn describe(e: &crate::wit::InvalidResource) -> String {
    crate::wit::SyncError::InvalidResource(e.clone()).describe()
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
    Ok(text)
}
