//! Which store pages may call the member routes from the browser: each program's
//! `dashboard.allowed_origins`, cached for a few seconds (a settings change made on this instance
//! applies at once, one made on another instance within [`FRESH_FOR`]).

use crate::app::{App, AppError};
use patron_domain::settings::normalize_origin;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// Normalized origin → the programs that allow it.
type ByOrigin = HashMap<String, HashSet<String>>;

#[derive(Debug, Default)]
pub struct AllowedOrigins {
    loaded: RwLock<Option<(Instant, std::sync::Arc<ByOrigin>)>>,
}

impl AllowedOrigins {
    pub fn forget(&self) {
        if let Ok(mut loaded) = self.loaded.write() {
            *loaded = None;
        }
    }
}

impl App {
    async fn origins_by_program(&self) -> Result<std::sync::Arc<ByOrigin>, AppError> {
        let cache = &self.dashboard().origins;
        let fresh = cache.loaded.read().ok().and_then(|l| {
            l.as_ref()
                .filter(|(at, _)| at.elapsed() < FRESH_FOR)
                .map(|(_, map)| map.clone())
        });
        if let Some(map) = fresh {
            return Ok(map);
        }
        let mut map = ByOrigin::new();
        for (program_id, origins) in self.store().dashboard_origins().await? {
            for origin in origins.iter().filter_map(|o| normalize_origin(o).ok()) {
                map.entry(origin).or_default().insert(program_id.clone());
            }
        }
        let map = std::sync::Arc::new(map);
        if let Ok(mut loaded) = cache.loaded.write() {
            *loaded = Some((Instant::now(), map.clone()));
        }
        Ok(map)
    }

    /// Whether this program lets pages of `origin` (as the browser sent it) use the member routes.
    pub async fn origin_allowed_by(
        &self,
        program_id: &str,
        origin: &str,
    ) -> Result<bool, AppError> {
        let Ok(origin) = normalize_origin(origin) else {
            return Ok(false);
        };
        Ok(self
            .origins_by_program()
            .await?
            .get(&origin)
            .is_some_and(|programs| programs.contains(program_id)))
    }

    /// Whether some program allows `origin`: enough to answer a preflight, which carries no token.
    pub async fn origin_allowed_by_any(&self, origin: &str) -> Result<bool, AppError> {
        let Ok(origin) = normalize_origin(origin) else {
            return Ok(false);
        };
        Ok(self.origins_by_program().await?.contains_key(&origin))
    }
}
