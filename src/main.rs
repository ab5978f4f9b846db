//! The `hjb` binary: parses the command line and maps errors onto the exit codes of the README's
//! "Command line" section (0 ok, 1 numerical failure, 2 bad input).

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a solve allocates a few dozen grid-sized fields and
/// tables, and glibc hands each one fresh pages from the kernel (a page fault per 4 KiB) and gives
/// them back when freed. mimalloc keeps and reuses its pages: on the 201² double-integrator problem
/// the set-up before the first step went from about 10 ms (1 900 page faults) to 5 ms (300).
/// Results do not depend on the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
