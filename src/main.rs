//! The `papan` binary: hub, staff CLI, demo and benchmarks (see `papan --help`).

fn main() -> std::process::ExitCode {
    papan::cli::main()
}
