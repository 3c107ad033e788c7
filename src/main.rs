//! The `deskpilot` binary: parse the command line, run, map the outcome to an exit code.
//! Everything else lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    deskpilot::util::STARTED.get_or_init(std::time::Instant::now);
    deskpilot::util::init_local_offset();
    let cli = deskpilot::cli::Cli::parse();
    match deskpilot::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`deskpilot search ... | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
