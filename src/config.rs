//! Where things live: data and config directories from `directories`,
//! overridable by flags and environment variables.

use std::path::PathBuf;

use directories::ProjectDirs;

/// Resolved paths.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub config_dir: PathBuf,
}

impl Paths {
    /// `data_dir` comes from `--data-dir` / `SWITCHBOARD_DATA_DIR` when given;
    /// `SWITCHBOARD_CONFIG_DIR` overrides the config directory.
    pub fn resolve(data_dir: Option<PathBuf>) -> anyhow::Result<Paths> {
        let dirs = ProjectDirs::from("dev", "switchboard", "switchboard");
        let data_dir = match data_dir {
            Some(d) => d,
            None => dirs
                .as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no home directory found: pass --data-dir DIR or set SWITCHBOARD_DATA_DIR"
                    )
                })?,
        };
        let config_dir = match std::env::var_os("SWITCHBOARD_CONFIG_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => dirs
                .as_ref()
                .map(|d| d.config_dir().to_path_buf())
                .unwrap_or_else(|| data_dir.clone()),
        };
        Ok(Paths {
            data_dir,
            config_dir,
        })
    }

    pub fn keymap_file(&self) -> PathBuf {
        self.config_dir.join("keymap.toml")
    }

    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("switchboard.log")
    }
}

/// The local owner's name for a new embedded store: the OS user.
pub fn local_username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "owner".to_string())
}
