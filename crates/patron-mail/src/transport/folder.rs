//! The `.eml` folder transport: each message is written under a temporary name and renamed into place, so a
//! reader never sees half a file. The folder is created on first use.

use super::{SendError, SendReceipt};
use crate::message::MailMessage;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FolderTransport {
    dir: PathBuf,
}

impl FolderTransport {
    pub(super) fn new(dir: PathBuf) -> Self {
        FolderTransport { dir }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) async fn send(&self, message: &MailMessage) -> Result<SendReceipt, SendError> {
        self.create_dir().await?;
        let name = file_name(chrono::Utc::now(), message.message_id());
        let path = self.dir.join(&name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        if let Err(err) = tokio::fs::write(&temporary, message.raw()).await {
            // Best effort: a partial temporary file is hidden and harmless, but tidy up when we can.
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(SendError::temporary(
                format!("cannot write {}", temporary.display()),
                err,
            ));
        }
        tokio::fs::rename(&temporary, &path).await.map_err(|err| {
            SendError::temporary(format!("cannot rename into {}", path.display()), err)
        })?;
        Ok(SendReceipt::Written { path })
    }

    pub(super) async fn check(&self) -> Result<(), SendError> {
        self.create_dir().await?;
        let probe = self
            .dir
            .join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&probe, b"").await.map_err(|err| {
            SendError::temporary(format!("{} is not writable", self.dir.display()), err)
        })?;
        let _ = tokio::fs::remove_file(&probe).await;
        Ok(())
    }

    async fn create_dir(&self) -> Result<(), SendError> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|err| {
            SendError::temporary(format!("cannot create {}", self.dir.display()), err)
        })
    }
}

/// `20261204T202049.123Z-patron.<id>.eml`: sorts by time, names the message, safe on every file system.
fn file_name(at: chrono::DateTime<chrono::Utc>, message_id: &str) -> String {
    let id: String = message_id
        .trim_matches(['<', '>'])
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(80)
        .collect();
    format!("{}-{id}.eml", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn file_names_start_with_the_time_and_carry_the_message_id() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 4, 20, 20, 49)
            .single()
            .expect("valid date");
        assert_eq!(
            file_name(at, "<patron.d-42@mail.example.com>"),
            "20261204T202049.000Z-patron.d-42.eml"
        );
    }
}
