//! The `sowhat` binary: parse the command line, run the command, exit with its code.
//! Every flag is defined and documented in `src/cli.rs`; everything else is in the library.

use clap::Parser;

fn main() {
    // Output piped into `head` or `less` that closes early ends the program quietly, as for any
    // Unix tool, instead of a panic about a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = sowhat::cli::Cli::parse();
    std::process::exit(sowhat::commands::run(cli));
}
