//! The Listrak commands of the CLI: `patron listrak backfill` (with a progress bar) and
//! `patron export members --csv`.

use crate::app::App;
use crate::app::backfill::{BackfillOptions, BackfillTick};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::Mutex;

pub async fn backfill(app: &App, program_id: &str, chunk_size: u32) -> Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:30} [{bar:40}] {pos}/{len} members ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let current = Mutex::new(String::new());
    let tick = |t: BackfillTick<'_>| {
        if let Ok(mut name) = current.lock()
            && *name != t.list_name
        {
            name.clone_from(&t.list_name.to_string());
            bar.set_message(t.list_name.to_string());
        }
        bar.set_length(t.total.max(0) as u64);
        bar.set_position(t.done.max(0) as u64);
    };
    let options = BackfillOptions {
        chunk_size: Some(chunk_size),
        max_chunks: None,
    };
    let view = app
        .run_backfill(program_id, &options, &tick)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the backfill stopped; run the command again to resume where it stopped")?;
    bar.finish_and_clear();
    for l in view.lists {
        println!(
            "{} (list {}): {} of {} members imported in {} imports, {}",
            l.list_name, l.list_id, l.done, l.total, l.imports, l.status
        );
    }
    Ok(())
}

pub async fn export_members(app: &App, program_id: &str, output: Option<&Path>) -> Result<()> {
    let count = match output {
        Some(path) => {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            app.export_members_csv(program_id, &mut file)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            app.export_members_csv(program_id, &mut out)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    eprintln!("Exported {count} members.");
    Ok(())
}
