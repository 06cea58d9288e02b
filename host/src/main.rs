/// See `mimalloc` in Cargo.toml: the cycle allocates per field.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wasync::cli::main()
}
