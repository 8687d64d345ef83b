//! The `sowhat` binary: parse the command line, run the command, exit with its code.
//! Every flag is defined and documented in `src/cli.rs`; everything else is in the library.

use clap::Parser;

fn main() {
    let cli = sowhat::cli::Cli::parse();
    std::process::exit(sowhat::commands::run(cli));
}
