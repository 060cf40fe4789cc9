//! The config store: an LMDB environment (heed) in `<app-dir>/ringway.lmdb/`.
//!
//! Like Bifrost's DB-backed mode, `config.json` seeds the store and the store is the source of
//! truth afterwards: admin writes land here and survive restarts. The store holds sections (see
//! [`sections`]), each a JSON value with `env.NAME` references kept as references, plus the
//! hash of what `config.json` had for each seeded section ([`seed`]).
//!
//! Every change is one LMDB write transaction, committed with fsync: a crash mid-write leaves the
//! previous state. Only the admin thread writes (workers never touch the store), and the
//! environment is opened once per process.

pub mod clock;
pub mod hash;
pub mod sections;
pub mod seed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use heed::types::{Bytes, Str};
use heed::{CommitOrAbort, Database, Env, EnvOpenOptions};
use serde_json::Value;

use hash::SectionHasher;

/// Directory of the LMDB environment inside the app dir.
pub const STORE_DIR: &str = "ringway.lmdb";

/// LMDB's map size: an upper bound of the file, reserved as address space only.
const MAP_SIZE: usize = 256 * 1024 * 1024;

/// `meta` key of the secret that keys [`SectionHasher`].
const HASH_KEY: &str = "hash_key";

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory could not be created.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// LMDB refused an operation.
    #[error("config store {path}: {source}")]
    Lmdb {
        /// The environment directory.
        path: PathBuf,
        /// What heed said.
        source: heed::Error,
    },
    /// A stored section is not valid JSON (the store was written by something else).
    #[error("config store: section {section} is not valid JSON: {message}")]
    Corrupt {
        /// The section.
        section: String,
        /// The parser's message.
        message: String,
    },
    /// The system random source failed.
    #[error("config store: no random bytes available: {0}")]
    Random(String),
}

/// One change, applied with others in a single transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionWrite {
    /// Sets a section.
    Put(String, Value),
    /// Removes a section (the remembered file hash, if any, stays).
    Delete(String),
    /// Remembers the hash of what `config.json` had for a section.
    SetHash(String, String),
    /// Forgets the remembered hash of a section.
    ForgetHash(String),
}

/// Everything the store holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreContents {
    /// Section name to value.
    pub sections: BTreeMap<String, Value>,
    /// Section name to the hash of its `config.json` version (seeded sections only).
    pub hashes: BTreeMap<String, String>,
}

impl StoreContents {
    /// Applies `writes` to this in-memory copy, as [`Store::apply`] does to the store.
    pub fn apply(&mut self, writes: &[SectionWrite]) {
        for w in writes {
            match w {
                SectionWrite::Put(n, v) => {
                    self.sections.insert(n.clone(), v.clone());
                }
                SectionWrite::Delete(n) => {
                    self.sections.remove(n);
                }
                SectionWrite::SetHash(n, h) => {
                    self.hashes.insert(n.clone(), h.clone());
                }
                SectionWrite::ForgetHash(n) => {
                    self.hashes.remove(n);
                }
            }
        }
    }
}

/// The open store.
pub struct Store {
    env: Env,
    path: PathBuf,
    sections: Database<'static, Str, Bytes>,
    hashes: Database<'static, Str, Str>,
    hasher: SectionHasher,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it if needed) the store in `app_dir`. Call once per process: LMDB refuses
    /// a second open of the same environment.
    pub fn open(app_dir: &Path) -> Result<Store, StoreError> {
        let path = app_dir.join(STORE_DIR);
        std::fs::create_dir_all(&path).map_err(|source| StoreError::Dir {
            path: path.clone(),
            source,
        })?;
        let lmdb = |source| StoreError::Lmdb {
            path: path.clone(),
            source,
        };
        // SAFETY: heed requires that the environment is not opened twice in this process and
        // that its files are not modified by other means while open; ringway opens it once, at
        // start-up, and LMDB's own lock file serialises other processes.
        let env = unsafe {
            EnvOpenOptions::new()
                .map_size(MAP_SIZE)
                .max_dbs(4)
                .open(&path)
        }
        .map_err(lmdb)?;
        let wtxn = env.write_txn().map_err(lmdb)?;
        let (sections, hashes, meta) = env
            .create_databases_and_commit(wtxn, |wdo, wtxn| {
                let sections = wdo.create_database::<Str, Bytes>(wtxn, Some("sections"))?;
                let hashes = wdo.create_database::<Str, Str>(wtxn, Some("file_hashes"))?;
                let meta = wdo.create_database::<Str, Bytes>(wtxn, Some("meta"))?;
                Ok::<_, heed::Error>(CommitOrAbort::<_, ()>::Commit((sections, hashes, meta)))
            })
            .map_err(lmdb)?
            .commit()
            .ok_or_else(|| StoreError::Random("database creation aborted".into()))?;
        let key = {
            let rtxn = env.read_txn().map_err(lmdb)?;
            meta.get(&rtxn, HASH_KEY)
                .map_err(lmdb)?
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
        };
        let key = match key {
            Some(k) => k,
            None => {
                let k = random_16()?;
                let mut wtxn = env.write_txn().map_err(lmdb)?;
                meta.put(&mut wtxn, HASH_KEY, &k).map_err(lmdb)?;
                wtxn.commit().map_err(lmdb)?;
                k
            }
        };
        Ok(Store {
            env,
            path,
            sections,
            hashes,
            hasher: SectionHasher::new(key),
        })
    }

    /// The environment directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hasher for `config.json` sections, keyed with this store's secret.
    pub fn hasher(&self) -> &SectionHasher {
        &self.hasher
    }

    /// Reads every section and remembered hash.
    pub fn load(&self) -> Result<StoreContents, StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut out = StoreContents::default();
        for item in self.sections.iter(&rtxn).map_err(|e| self.lmdb(e))? {
            let (name, bytes) = item.map_err(|e| self.lmdb(e))?;
            let value = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                section: name.to_string(),
                message: e.to_string(),
            })?;
            out.sections.insert(name.to_string(), value);
        }
        for item in self.hashes.iter(&rtxn).map_err(|e| self.lmdb(e))? {
            let (name, h) = item.map_err(|e| self.lmdb(e))?;
            out.hashes.insert(name.to_string(), h.to_string());
        }
        Ok(out)
    }

    /// Applies `writes` in one transaction: all of them, or (on error) none.
    pub fn apply(&self, writes: &[SectionWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        for w in writes {
            let r = match w {
                SectionWrite::Put(name, value) => {
                    // Serialising a `Value` cannot fail.
                    let bytes = serde_json::to_vec(value).unwrap_or_default();
                    self.sections.put(&mut wtxn, name, &bytes)
                }
                SectionWrite::Delete(name) => self.sections.delete(&mut wtxn, name).map(drop),
                SectionWrite::SetHash(name, h) => self.hashes.put(&mut wtxn, name, h),
                SectionWrite::ForgetHash(name) => self.hashes.delete(&mut wtxn, name).map(drop),
            };
            // Dropping the transaction without committing aborts it.
            r.map_err(|e| self.lmdb(e))?;
        }
        wtxn.commit().map_err(|e| self.lmdb(e))
    }

    fn lmdb(&self, source: heed::Error) -> StoreError {
        StoreError::Lmdb {
            path: self.path.clone(),
            source,
        }
    }
}

/// 16 bytes from the operating system's secure random source.
pub fn random_16() -> Result<[u8; 16], StoreError> {
    argon2::password_hash::try_generate_salt().map_err(|e| StoreError::Random(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ringway-store-{}-{tag}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_are_one_transaction_and_survive_reopen() {
        let dir = temp_dir("reopen");
        let hash;
        {
            let s = Store::open(&dir).unwrap();
            hash = s.hasher().hash(&json!({"a": 1}));
            s.apply(&[
                SectionWrite::Put("client".into(), json!({"drop_excess_requests": true})),
                SectionWrite::Put("providers/openai".into(), json!({"keys": []})),
                SectionWrite::SetHash("providers/openai".into(), "h1".into()),
            ])
            .unwrap();
            s.apply(&[SectionWrite::Delete("providers/openai".into())])
                .unwrap();
            let c = s.load().unwrap();
            assert_eq!(c.sections.len(), 1);
            assert_eq!(
                c.hashes["providers/openai"], "h1",
                "deletion keeps the hash"
            );
        }
        let s = Store::open(&dir).unwrap();
        let c = s.load().unwrap();
        assert_eq!(c.sections["client"]["drop_excess_requests"], true);
        assert_eq!(
            s.hasher().hash(&json!({"a": 1})),
            hash,
            "the hash key persists"
        );
        let mut mem = c.clone();
        mem.apply(&[SectionWrite::ForgetHash("providers/openai".into())]);
        s.apply(&[SectionWrite::ForgetHash("providers/openai".into())])
            .unwrap();
        assert_eq!(s.load().unwrap(), mem);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
