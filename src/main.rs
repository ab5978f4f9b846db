//! The `hjb` binary: parses the command line and maps errors onto the exit codes of the README's
//! "Command line" section (0 ok, 1 numerical failure, 2 bad input).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let arguments = cli::Cli::parse();
    match cli::run(arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", cli::exit::describe(&error));
            ExitCode::from(cli::exit::exit_code_of(&error))
        }
    }
}

/// `hjb check FILE | head` should end quietly when the reader goes away, as other Unix tools do;
/// Rust ignores SIGPIPE by default, which turns a closed pipe into a panic in `println!`.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
