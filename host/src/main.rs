fn main() -> std::process::ExitCode {
    wasync::cli::main()
}
