//! P2 again, with mimalloc as the process's global allocator instead of glibc's
//! malloc: the same run and figures as `client_cpu`, to show how much of the
//! client's CPU is the allocator's, which is the application's choice, not the
//! SDK's.
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench client_cpu_mimalloc`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "client_cpu.rs"]
mod client_cpu;

fn main() {
    client_cpu::main();
}
