//! `fgd-sync`: parse the command line, set up logging, run, exit with a documented code.

use std::process::ExitCode;

use clap::Parser;
use fgd_sync::report::exit;

fn main() -> ExitCode {
    let cli = match fgd_sync::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on usage errors, but 2 means "conflicts" here: scripts must not confuse them.
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { exit::ERROR } else { exit::OK });
        }
    };
    fgd_sync::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(fgd_sync::cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        // The reader stopped early (`| head`): what it wanted, it got.
        Err(error) if fgd_sync::logging::is_broken_pipe(&error) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
