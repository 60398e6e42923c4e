//! Runs the emulator standalone, exactly as `patron listrak-sim` does:
//! `cargo run -p listrak-sim --example listrak_sim -- --client-id demo --client-secret s3cret`.

use clap::Parser;

#[derive(Parser)]
#[command(name = "listrak-sim")]
struct Cli {
    #[command(flatten)]
    sim: listrak_sim::SimArgs,
}

#[tokio::main]
async fn main() -> Result<(), listrak_sim::SimError> {
    listrak_sim::run(Cli::parse().sim).await
}
