//! Session tokens kept between runs: one entry per server, in a file of the
//! data directory that only its owner can read (0600).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::http_transport::normalize_url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStore {
    path: PathBuf,
}

impl SessionStore {
    /// The store in a data directory.
    pub fn in_dir(data_dir: &Path) -> SessionStore {
        SessionStore {
            path: data_dir.join("sessions.json"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> std::io::Result<BTreeMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is damaged: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, map: &BTreeMap<String, String>) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            crate::store::create_private_dir(dir)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        // Write a private temporary file, then rename: never a half-written
        // or world-readable token file.
        let tmp = self.path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(map).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }

    /// The stored token for a server.
    pub fn load(&self, url: &str) -> std::io::Result<Option<SecretString>> {
        Ok(self
            .read()?
            .remove(&normalize_url(url))
            .map(SecretString::from))
    }

    pub fn save(&self, url: &str, token: &SecretString) -> std::io::Result<()> {
        let mut map = self.read()?;
        map.insert(normalize_url(url), token.expose_secret().to_string());
        self.write(&map)
    }

    /// Forgets a server's token; returns whether there was one.
    pub fn remove(&self, url: &str) -> std::io::Result<bool> {
        let mut map = self.read()?;
        let had = map.remove(&normalize_url(url)).is_some();
        if had {
            self.write(&map)?;
        }
        Ok(had)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_kept_per_server_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::in_dir(dir.path());
        assert!(store.load("http://a:1").unwrap().is_none());
        store
            .save("http://a:1/", &SecretString::from("t1".to_string()))
            .unwrap();
        store
            .save("https://b", &SecretString::from("t2".to_string()))
            .unwrap();
        assert_eq!(
            store.load("http://a:1").unwrap().unwrap().expose_secret(),
            "t1"
        );
        assert_eq!(
            store.load("https://b/").unwrap().unwrap().expose_secret(),
            "t2"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.remove("http://a:1").unwrap());
        assert!(!store.remove("http://a:1").unwrap());
        assert!(store.load("http://a:1").unwrap().is_none());
        assert!(store.load("https://b").unwrap().is_some());
    }
}
