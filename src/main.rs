//! The `hjb` binary: parses the command line and maps errors onto the exit codes of DESIGN §6
//! (0 ok, 1 numerical failure, 2 bad input).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    match cli::run(arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let code = error.downcast_ref::<hjb::HjbError>().map_or(1, hjb::HjbError::exit_code);
            ExitCode::from(code as u8)
        }
    }
}
