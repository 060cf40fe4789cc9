//! The log store: an LMDB environment (heed) of its own in `<app-dir>/ringway-logs.lmdb/`, apart
//! from the config store so that log writes never contend with config commits.
//!
//! ```text
//! summaries  key(ts, id) -> LogSummary JSON   every search scans these, in key (= time) order
//! contents   key(ts, id) -> LogContent JSON   read for the rows a page shows, or content_search
//! ids        id          -> key(ts, id)       GET /api/logs/{id}, DELETE by ids
//! ```
//!
//! Only the writer thread writes rows (one transaction per batch); the admin thread reads, and
//! deletes by id; LMDB serialises the two writers and readers never block.
//!
//! The map grows: a batch that finds it full doubles it and is retried. LMDB allows resizing
//! only while this process has no transaction open, so every transaction holds a shared lock
//! that the resize takes exclusively (the admin and writer threads only; workers never come
//! here).

use std::ops::{Bound, Deref};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use heed::types::{Bytes, Str};
use heed::{
    CommitOrAbort, Database, Env, EnvOpenOptions, MdbError, PutFlags, RoTxn, RwTxn, WithTls,
};

use super::entry::{LogContent, LogSummary, StoredContent};
use super::key;

/// Directory of the environment inside the app dir.
pub const LOGS_DIR: &str = "ringway-logs.lmdb";

/// LMDB's initial map size: an upper bound of the file, reserved as address space only; it
/// doubles when full, up to [`MAX_MAP_SIZE`].
const MAP_SIZE: usize = 1 << 30;

/// The largest map: past it a full map drops batches (counted) instead of failing requests.
const MAX_MAP_SIZE: usize = 1 << 40;

/// Rows deleted per transaction by the retention sweep.
const SWEEP_CHUNK: usize = 10_000;

/// Why the log store failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The directory could not be created.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// LMDB refused an operation.
    #[error("logs store {path}: {source}")]
    Lmdb {
        /// The environment directory.
        path: PathBuf,
        /// What heed said.
        source: heed::Error,
    },
    /// A stored row is not what ringway writes.
    #[error("logs store: row {0} is not valid JSON")]
    Corrupt(String),
}

/// The open log store.
pub struct LogStore {
    env: Env,
    path: PathBuf,
    summaries: Database<'static, Bytes, Bytes>,
    contents: Database<'static, Bytes, Bytes>,
    ids: Database<'static, Str, Bytes>,
    /// Shared by every transaction, exclusive for a resize.
    resize: RwLock<()>,
}

/// A read transaction, holding off resizes while it lives.
pub struct ReadView<'s> {
    // Field order: the transaction ends before the lock is released.
    txn: RoTxn<'s, WithTls>,
    _guard: RwLockReadGuard<'s, ()>,
}

impl<'s> Deref for ReadView<'s> {
    type Target = RoTxn<'s, WithTls>;
    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("path", &self.path)
            .finish()
    }
}

impl LogStore {
    /// Opens (creating it if needed) the store in `app_dir`. Once per process: LMDB refuses a
    /// second open of the same environment.
    pub fn open(app_dir: &Path) -> Result<Self, LogError> {
        Self::open_sized(app_dir, MAP_SIZE)
    }

    /// [`LogStore::open`] with an initial map of `map_size` bytes (a multiple of the page size).
    pub fn open_sized(app_dir: &Path, map_size: usize) -> Result<Self, LogError> {
        let path = app_dir.join(LOGS_DIR);
        std::fs::create_dir_all(&path).map_err(|source| LogError::Dir {
            path: path.clone(),
            source,
        })?;
        let lmdb = |source| LogError::Lmdb {
            path: path.clone(),
            source,
        };
        // SAFETY: heed requires that the environment is not opened twice in this process and
        // that its files are not modified by other means while open; ringway opens it once, at
        // start-up, and LMDB's own lock file serialises other processes.
        let env = unsafe {
            EnvOpenOptions::new()
                .map_size(map_size)
                .max_dbs(3)
                .open(&path)
        }
        .map_err(lmdb)?;
        let wtxn = env.write_txn().map_err(lmdb)?;
        let (summaries, contents, ids) = env
            .create_databases_and_commit(wtxn, |wdo, wtxn| {
                let s = wdo.create_database::<Bytes, Bytes>(wtxn, Some("summaries"))?;
                let c = wdo.create_database::<Bytes, Bytes>(wtxn, Some("contents"))?;
                let i = wdo.create_database::<Str, Bytes>(wtxn, Some("ids"))?;
                Ok::<_, heed::Error>(CommitOrAbort::<_, ()>::Commit((s, c, i)))
            })
            .map_err(lmdb)?
            .commit()
            .ok_or_else(|| LogError::Corrupt("database creation aborted".into()))?;
        Ok(Self {
            env,
            path,
            summaries,
            contents,
            ids,
            resize: RwLock::new(()),
        })
    }

    fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.resize.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Doubles the map (no transaction can be open meanwhile); false at [`MAX_MAP_SIZE`].
    fn grow(&self) -> Result<bool, LogError> {
        let _exclusive = self.resize.write().unwrap_or_else(PoisonError::into_inner);
        let size = self.env.info().map_size;
        if size >= MAX_MAP_SIZE {
            return Ok(false);
        }
        let next = size.saturating_mul(2).min(MAX_MAP_SIZE);
        // SAFETY: the exclusive lock guarantees no transaction of this process is open, which
        // is what mdb_env_set_mapsize requires; both sizes are multiples of the page size.
        unsafe { self.env.resize(next) }.map_err(|e| self.lmdb(e))?;
        tracing::info!(map_size = next, "request log store grown");
        Ok(true)
    }

    /// The environment directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lmdb(&self, source: heed::Error) -> LogError {
        LogError::Lmdb {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores `rows` in one transaction: all of them, or (on error) none. A full map is grown
    /// and the batch retried.
    pub fn put_batch(&self, rows: &[(LogSummary, StoredContent)]) -> Result<(), LogError> {
        if rows.is_empty() {
            return Ok(());
        }
        match self.try_put_batch(rows) {
            Err(LogError::Lmdb {
                source: heed::Error::Mdb(MdbError::MapFull),
                ..
            }) if self.grow()? => self.try_put_batch(rows),
            other => other,
        }
    }

    fn try_put_batch(&self, rows: &[(LogSummary, StoredContent)]) -> Result<(), LogError> {
        let _shared = self.shared();
        // Keys begin with the request's start time: in key order, nearly every row lands at the
        // end of the trees, where LMDB appends (see `put_last`).
        let mut keyed: Vec<(Vec<u8>, &(LogSummary, StoredContent))> = rows
            .iter()
            .map(|r| (key::encode(r.0.ts_ns, &r.0.id), r))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        let mut encoded = Vec::with_capacity(512);
        for (k, (summary, content)) in keyed {
            // A retried id (same request id twice) replaces its earlier row. Inserting first
            // and reading the old key only when there is one saves a tree descent per row.
            let old = self
                .ids
                .get_or_put(&mut wtxn, &summary.id, &k)
                .map_err(|e| self.lmdb(e))?
                .map(<[u8]>::to_vec);
            if let Some(old) = old {
                self.summaries
                    .delete(&mut wtxn, &old)
                    .map_err(|e| self.lmdb(e))?;
                self.contents
                    .delete(&mut wtxn, &old)
                    .map_err(|e| self.lmdb(e))?;
                self.ids
                    .put(&mut wtxn, &summary.id, &k)
                    .map_err(|e| self.lmdb(e))?;
            }
            encoded.clear();
            summary.encode(&mut encoded);
            put_last(self.summaries, &mut wtxn, &k, &encoded).map_err(|e| self.lmdb(e))?;
            if !content.is_empty() {
                put_last(self.contents, &mut wtxn, &k, &content.0).map_err(|e| self.lmdb(e))?;
            }
        }
        wtxn.commit().map_err(|e| self.lmdb(e))
    }

    /// The row of request `id`.
    pub fn get(&self, id: &str) -> Result<Option<(LogSummary, LogContent)>, LogError> {
        let rtxn = self.read()?;
        let Some(k) = self.ids.get(&rtxn, id).map_err(|e| self.lmdb(e))? else {
            return Ok(None);
        };
        let Some(s) = self.summaries.get(&rtxn, k).map_err(|e| self.lmdb(e))? else {
            return Ok(None);
        };
        let summary = decode_summary(s)?;
        let content = self.content(&rtxn, k)?;
        Ok(Some((summary, content)))
    }

    /// Deletes the rows of `ids` in one transaction; returns how many existed.
    pub fn delete(&self, ids: &[String]) -> Result<usize, LogError> {
        let _shared = self.shared();
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        let mut n = 0;
        for id in ids {
            let Some(k) = self.ids.get(&wtxn, id).map_err(|e| self.lmdb(e))? else {
                continue;
            };
            let k = k.to_vec();
            self.summaries
                .delete(&mut wtxn, &k)
                .map_err(|e| self.lmdb(e))?;
            self.contents
                .delete(&mut wtxn, &k)
                .map_err(|e| self.lmdb(e))?;
            self.ids.delete(&mut wtxn, id).map_err(|e| self.lmdb(e))?;
            n += 1;
        }
        wtxn.commit().map_err(|e| self.lmdb(e))?;
        Ok(n)
    }

    /// Deletes every row that started before `cutoff_ns`; returns how many.
    pub fn sweep(&self, cutoff_ns: u64) -> Result<usize, LogError> {
        let hi = key::lower_bound(cutoff_ns);
        let mut total = 0;
        loop {
            let _shared = self.shared();
            let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
            // Collected first: the cursor cannot stay open while rows are deleted.
            let mut old: Vec<(Vec<u8>, String)> = Vec::new();
            let range = (Bound::Unbounded, Bound::Excluded(hi.as_slice()));
            for item in self
                .summaries
                .range(&wtxn, &range)
                .map_err(|e| self.lmdb(e))?
                .take(SWEEP_CHUNK)
            {
                let (k, v) = item.map_err(|e| self.lmdb(e))?;
                let id = decode_summary(v).map(|s| s.id).unwrap_or_default();
                old.push((k.to_vec(), id));
            }
            if old.is_empty() {
                return Ok(total);
            }
            for (k, id) in &old {
                self.summaries
                    .delete(&mut wtxn, k)
                    .map_err(|e| self.lmdb(e))?;
                self.contents
                    .delete(&mut wtxn, k)
                    .map_err(|e| self.lmdb(e))?;
                if !id.is_empty() {
                    self.ids.delete(&mut wtxn, id).map_err(|e| self.lmdb(e))?;
                }
            }
            wtxn.commit().map_err(|e| self.lmdb(e))?;
            total += old.len();
            if old.len() < SWEEP_CHUNK {
                return Ok(total);
            }
        }
    }

    /// Whether any row is stored.
    pub fn has_logs(&self) -> Result<bool, LogError> {
        let rtxn = self.read()?;
        Ok(!self.summaries.is_empty(&rtxn).map_err(|e| self.lmdb(e))?)
    }

    /// A read transaction (a snapshot: writes committed later are not seen).
    pub fn read(&self) -> Result<ReadView<'_>, LogError> {
        let guard = self.shared();
        let txn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        Ok(ReadView { txn, _guard: guard })
    }

    /// Every stored row, counted (tests).
    #[cfg(test)]
    pub(crate) fn count_rows(&self) -> usize {
        let rtxn = self.read().unwrap_or_else(|e| panic!("read txn: {e}"));
        let mut n = 0;
        self.scan(&rtxn, None, None, false, |_, _| {
            n += 1;
            true
        })
        .unwrap_or_else(|e| panic!("scan: {e}"));
        n
    }

    /// Calls `f` with every summary started in `[start_ns, end_ns]`, newest first when `desc`,
    /// until it returns false.
    pub fn scan(
        &self,
        rtxn: &RoTxn<'_>,
        start_ns: Option<u64>,
        end_ns: Option<u64>,
        desc: bool,
        mut f: impl FnMut(&[u8], LogSummary) -> bool,
    ) -> Result<(), LogError> {
        let lo = start_ns.map(key::lower_bound);
        let hi = end_ns.and_then(key::upper_bound_exclusive);
        let range = (
            lo.as_deref().map_or(Bound::Unbounded, Bound::Included),
            hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        );
        if let (Some(l), Some(h)) = (&lo, &hi)
            && l >= h
        {
            return Ok(());
        }
        let mut visit = |item: heed::Result<(&[u8], &[u8])>| -> Result<bool, LogError> {
            let (k, v) = item.map_err(|e| self.lmdb(e))?;
            Ok(f(k, decode_summary(v)?))
        };
        if desc {
            for item in self
                .summaries
                .rev_range(rtxn, &range)
                .map_err(|e| self.lmdb(e))?
            {
                if !visit(item)? {
                    break;
                }
            }
        } else {
            for item in self
                .summaries
                .range(rtxn, &range)
                .map_err(|e| self.lmdb(e))?
            {
                if !visit(item)? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The summary of the row at `key`.
    pub fn summary(&self, rtxn: &RoTxn<'_>, key: &[u8]) -> Result<Option<LogSummary>, LogError> {
        match self.summaries.get(rtxn, key).map_err(|e| self.lmdb(e))? {
            Some(b) => decode_summary(b).map(Some),
            None => Ok(None),
        }
    }

    /// The content of the row at `key` (empty when it has none).
    pub fn content(&self, rtxn: &RoTxn<'_>, key: &[u8]) -> Result<LogContent, LogError> {
        match self.contents.get(rtxn, key).map_err(|e| self.lmdb(e))? {
            Some(b) => serde_json::from_slice(b).map_err(|_| LogError::Corrupt(hex_key(key))),
            None => Ok(LogContent::default()),
        }
    }
}

fn decode_summary(bytes: &[u8]) -> Result<LogSummary, LogError> {
    serde_json::from_slice(bytes).map_err(|e| LogError::Corrupt(e.to_string()))
}

fn hex_key(k: &[u8]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// Puts `k` at the end of `db` when it sorts after every key there: LMDB then appends without
/// searching the tree and fills pages instead of splitting them in half (rows are written in
/// time order). A key that does not (a long request finishing after newer ones) is put in its
/// place.
fn put_last(
    db: Database<Bytes, Bytes>,
    txn: &mut RwTxn<'_>,
    k: &[u8],
    v: &[u8],
) -> heed::Result<()> {
    match db.put_with_flags(txn, PutFlags::APPEND, k, v) {
        Err(heed::Error::Mdb(MdbError::KeyExist)) => db.put(txn, k, v),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::logging::entry::{Status, TokenUsage};

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ringway-logs-{}-{tag}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    pub(crate) fn summary(id: &str, ts_ns: u64, provider: &str) -> LogSummary {
        LogSummary {
            id: id.into(),
            ts_ns,
            object: "chat_completion".into(),
            provider: provider.into(),
            model: "m".into(),
            number_of_retries: 0,
            fallback_index: 0,
            selected_key_id: "k".into(),
            selected_key_name: "main".into(),
            latency: 1.0,
            token_usage: Some(TokenUsage {
                prompt_tokens: 1,
                completion_tokens: 1,
                total_tokens: 2,
            }),
            status: Status::Success,
            stream: false,
        }
    }

    /// Every row's summary, oldest first (or newest first).
    pub(crate) fn summaries(store: &LogStore, newest_first: bool) -> Vec<LogSummary> {
        let rtxn = store.read().unwrap();
        let mut seen = Vec::new();
        store
            .scan(&rtxn, None, None, newest_first, |_, s| {
                seen.push(s);
                true
            })
            .unwrap();
        seen
    }

    /// Every row's id, oldest first (or newest first).
    fn ids(store: &LogStore, newest_first: bool) -> Vec<String> {
        summaries(store, newest_first)
            .into_iter()
            .map(|s| s.id)
            .collect()
    }

    #[test]
    fn rows_older_than_the_last_are_put_in_place() {
        let dir = temp_dir("append");
        let store = LogStore::open(&dir).unwrap();
        let content = |t: &str| StoredContent(format!("{{\"t\":\"{t}\"}}").into_bytes());
        // Unsorted within a batch, and a second batch partly older than the first one's end.
        for batch in [
            [("e", 50), ("a", 10), ("c", 30)],
            [("f", 60), ("b", 20), ("d", 40)],
        ] {
            let rows: Vec<_> = batch
                .iter()
                .map(|(id, ts)| (summary(id, *ts, "openai"), content(id)))
                .collect();
            store.put_batch(&rows).unwrap();
        }
        assert_eq!(ids(&store, false), ["a", "b", "c", "d", "e", "f"]);
        for id in ["a", "d", "f"] {
            let (s, c) = store.get(id).unwrap().unwrap();
            assert_eq!(s.id, id);
            assert_eq!(c, content(id).decode().unwrap());
        }
    }

    #[test]
    fn a_repeated_id_replaces_its_earlier_row() {
        let dir = temp_dir("replace");
        let store = LogStore::open(&dir).unwrap();
        let content = |t: &str| StoredContent(format!("{{\"t\":\"{t}\"}}").into_bytes());
        let row = |id: &str, ts: u64, tag: &str| (summary(id, ts, tag), content(tag));
        store
            .put_batch(&[row("x", 10, "first"), row("y", 20, "y")])
            .unwrap();
        // Later in a new batch, then twice within one batch (the later one wins).
        store.put_batch(&[row("x", 30, "second")]).unwrap();
        store
            .put_batch(&[row("x", 50, "fourth"), row("x", 40, "third")])
            .unwrap();
        assert_eq!(ids(&store, false), ["y", "x"]);
        let (s, c) = store.get("x").unwrap().unwrap();
        assert_eq!((s.ts_ns, s.provider.as_str()), (50, "fourth"));
        assert_eq!(c, content("fourth").decode().unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rows_scan_in_time_order_and_delete_and_sweep() {
        let dir = temp_dir("store");
        let store = LogStore::open(&dir).unwrap();
        assert!(!store.has_logs().unwrap());
        let rows: Vec<_> = [("c", 30), ("a", 10), ("b", 20)]
            .iter()
            .map(|(id, ts)| (summary(id, *ts, "openai"), StoredContent::default()))
            .collect();
        store.put_batch(&rows).unwrap();
        assert_eq!(ids(&store, true), ["c", "b", "a"]);
        let rtxn = store.read().unwrap();
        let mut seen = Vec::new();
        store
            .scan(&rtxn, Some(15), Some(30), false, |_, s| {
                seen.push(s.id);
                true
            })
            .unwrap();
        assert_eq!(seen, ["b", "c"], "inclusive bounds");
        drop(rtxn);
        assert_eq!(store.get("b").unwrap().unwrap().0.ts_ns, 20);
        assert_eq!(store.delete(&["b".into(), "nope".into()]).unwrap(), 1);
        assert!(store.get("b").unwrap().is_none());
        assert_eq!(store.sweep(25).unwrap(), 1, "a is older than 25");
        assert!(store.get("a").unwrap().is_none());
        assert!(store.get("c").unwrap().is_some());
        drop(store);
        let reopened = LogStore::open(&dir).unwrap();
        assert!(
            reopened.get("c").unwrap().is_some(),
            "rows survive reopening"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_map_grows_and_keeps_every_row() {
        let dir = temp_dir("grow");
        let store = LogStore::open_sized(&dir, 1 << 20).unwrap();
        let big = LogContent {
            output_message: Some(serde_json::json!({"content": "x".repeat(8 * 1024)})),
            ..LogContent::default()
        };
        // 64 batches of 8 rows of ~8 KiB: about 4 MiB, four times the first map.
        for b in 0..64u64 {
            let rows: Vec<_> = (0..8)
                .map(|i| {
                    (
                        summary(&format!("r{b}-{i}"), b * 8 + i, "openai"),
                        big.encode(),
                    )
                })
                .collect();
            store.put_batch(&rows).unwrap();
        }
        assert!(store.env.info().map_size >= 4 << 20);
        assert_eq!(store.count_rows(), 512);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
