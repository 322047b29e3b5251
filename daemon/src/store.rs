//! The store: one redb file holding events, mitigations, the safelist and the audit trail.
//!
//! Every record is its JSON form behind a one-byte record-format version, so a later prefixd can
//! read (or refuse with a clear error) what an earlier one wrote. Writes go through one committer
//! thread that takes every batch waiting when it starts a transaction and commits them together
//! with [`redb::Durability::Immediate`] (group commit): a burst of requests shares one fsync, and
//! each caller hears back only after its batch is on disk. Reads open their own read transaction
//! and never wait for the committer.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::{AuditRecord, Event, EventAction, Mitigation, SafelistRecord};

/// Format version written in front of every record.
pub const RECORD_VERSION: u8 = 1;
/// Version of the table layout, in `meta/schema`.
pub const SCHEMA_VERSION: u32 = 1;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("events");
/// `source \x1f external id` of ban events -> `event_id \x1f mitigation_id`.
const EVENT_KEYS: TableDefinition<'_, &str, &str> = TableDefinition::new("event_keys");
const MITIGATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("mitigations");
const SAFELIST: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("safelist");
const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption, ...).
    #[error("store: {0}")]
    Db(#[from] redb::Error),
    /// A record this version cannot read.
    #[error("store: {table}/{key}: {message}")]
    Format {
        /// Table.
        table: &'static str,
        /// Key.
        key: String,
        /// What.
        message: String,
    },
    /// The committer thread is gone (the daemon is stopping).
    #[error("store: closed")]
    Closed,
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Insert or replace an event (and its `source`/`event_id` key for bans).
    Event(Box<Event>),
    /// Insert or replace a mitigation.
    Mitigation(Box<Mitigation>),
    /// Insert or replace a safelist entry.
    Safelist(SafelistRecord),
    /// Remove a safelist entry.
    SafelistRemove(String),
    /// Append an audit record.
    Audit(Box<AuditRecord>),
}

type Done = Box<dyn FnOnce(Result<(), Arc<StoreError>>) + Send>;

struct Batch {
    writes: Vec<Write>,
    done: Done,
}

enum Msg {
    Batch(Batch),
    Stop,
}

/// Commit counters, for health and the benchmarks.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Batches they carried.
    pub batches: AtomicU64,
    /// Total commit time in microseconds.
    pub micros: AtomicU64,
    /// Fault injection for tests: this many coming commits fail (`u64::MAX`: all of them).
    inject_failures: AtomicU64,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    tx: mpsc::Sender<Msg>,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
    /// Commit counters.
    pub stats: Arc<CommitStats>,
    observer: Arc<std::sync::Mutex<Option<prometheus_client::metrics::histogram::Histogram>>>,
    audit_log: Arc<std::sync::Mutex<Option<std::fs::File>>>,
    feed: tokio::sync::broadcast::Sender<Arc<AuditRecord>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The key of a ban event by its detector id.
pub fn event_key(source: &str, external_id: &str) -> String {
    format!("{source}\u{1f}{external_id}")
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(768);
    out.push(RECORD_VERSION);
    // Serialising these plain structs to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, v);
    out
}

fn decode<T: DeserializeOwned>(table: &'static str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let fail = |message: String| StoreError::Format { table, key: key.to_string(), message };
    match bytes.split_first() {
        Some((&RECORD_VERSION, json)) => serde_json::from_slice(json).map_err(|e| fail(e.to_string())),
        Some((v, _)) => Err(fail(format!("record format {v}, this prefixd reads {RECORD_VERSION}"))),
        None => Err(fail("empty record".into())),
    }
}

impl Store {
    /// Opens (or creates) the file with the default cache (64 MiB) and starts the committer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, 64 << 20)
    }

    /// Opens (or creates) the file with `cache_bytes` of page cache and starts the committer thread.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(redb::StorageError::Io(e).into()))?;
        }
        let db = Database::builder().set_cache_size(cache_bytes).create(path)?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let schema = meta.get("schema")?.map(|v| v.value().to_vec());
            match schema {
                None => {
                    meta.insert("schema", SCHEMA_VERSION.to_be_bytes().as_slice())?;
                }
                Some(v) if v == SCHEMA_VERSION.to_be_bytes() => {}
                Some(v) => {
                    return Err(StoreError::Format {
                        table: "meta",
                        key: "schema".into(),
                        message: format!("schema {v:?}, this prefixd reads {SCHEMA_VERSION}"),
                    })
                }
            }
            txn.open_table(EVENTS)?;
            txn.open_table(EVENT_KEYS)?;
            txn.open_table(MITIGATIONS)?;
            txn.open_table(SAFELIST)?;
            txn.open_table(AUDIT)?;
        }
        txn.commit()?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel::<Msg>();
        let stats = Arc::new(CommitStats::default());
        let observer: Arc<std::sync::Mutex<Option<prometheus_client::metrics::histogram::Histogram>>> = Arc::default();
        let audit_log: Arc<std::sync::Mutex<Option<std::fs::File>>> = Arc::default();
        let (feed, _) = tokio::sync::broadcast::channel(4096);
        let (db2, stats2, observer2, log2, feed2) =
            (Arc::clone(&db), Arc::clone(&stats), Arc::clone(&observer), Arc::clone(&audit_log), feed.clone());
        let thread = std::thread::Builder::new()
            .name("prefixd-store".into())
            .spawn(move || committer(&db2, &rx, &stats2, &observer2, &log2, &feed2))
            .map_err(|e| StoreError::Db(redb::StorageError::Io(e).into()))?;
        Ok(Store { db, tx, stats, observer, audit_log, feed, thread: Arc::new(std::sync::Mutex::new(Some(thread))) })
    }

    /// Queues writes; `done` runs on the committer thread once they are durable (or failed).
    pub fn submit(&self, writes: Vec<Write>, done: impl FnOnce(Result<(), Arc<StoreError>>) + Send + 'static) {
        if let Err(mpsc::SendError(Msg::Batch(b))) = self.tx.send(Msg::Batch(Batch { writes, done: Box::new(done) })) {
            (b.done)(Err(Arc::new(StoreError::Closed)));
        }
    }

    /// Fault injection for tests: the next `n` commits fail as an I/O error would make them
    /// fail, `u64::MAX` every commit from now on (as redb does after an I/O error), 0 none.
    pub fn inject_commit_failures(&self, n: u64) {
        self.stats.inject_failures.store(n, Ordering::Relaxed);
    }

    /// Writes and waits until they are durable.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), Arc<StoreError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(writes, move |r| {
            let _ = tx.send(r);
        });
        rx.await.unwrap_or_else(|_| Err(Arc::new(StoreError::Closed)))
    }

    /// Writes from a thread that may block.
    pub fn commit_blocking(&self, writes: Vec<Write>) -> Result<(), Arc<StoreError>> {
        let (tx, rx) = mpsc::channel();
        self.submit(writes, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or_else(|_| Err(Arc::new(StoreError::Closed)))
    }

    /// Appends every committed audit record to `path` as one JSON line (after its commit, so the
    /// file never holds a record the store does not).
    pub fn audit_log(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        *self.audit_log.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
        Ok(())
    }

    /// Every audit record, as it is committed (a lagging receiver is told how many it missed).
    pub fn audit_feed(&self) -> tokio::sync::broadcast::Receiver<Arc<AuditRecord>> {
        self.feed.subscribe()
    }

    /// Records every commit's duration in `h` from now on.
    pub fn observe_commits(&self, h: prometheus_client::metrics::histogram::Histogram) {
        *self.observer.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
    }

    /// Commits what is queued, stops the committer and waits for it. The file is closed once
    /// every clone of this store is dropped; writes submitted afterwards fail with `Closed`.
    pub fn close(self) {
        let _ = self.tx.send(Msg::Stop);
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// A read view of the whole store at one point in time.
    pub fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader { txn: self.db.begin_read()? })
    }
}

fn committer(
    db: &Database,
    rx: &mpsc::Receiver<Msg>,
    stats: &CommitStats,
    observer: &std::sync::Mutex<Option<prometheus_client::metrics::histogram::Histogram>>,
    audit_log: &std::sync::Mutex<Option<std::fs::File>>,
    feed: &tokio::sync::broadcast::Sender<Arc<AuditRecord>>,
) {
    let mut stop = false;
    while !stop {
        let Ok(Msg::Batch(first)) = rx.recv() else { break };
        let mut batches = vec![first];
        while batches.len() < 4096 {
            match rx.try_recv() {
                Ok(Msg::Batch(b)) => batches.push(b),
                Ok(Msg::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let t = Instant::now();
        let injected = stats
            .inject_failures
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| match n {
                0 => None,
                u64::MAX => Some(u64::MAX),
                n => Some(n - 1),
            })
            .is_ok();
        let result = if injected {
            Err(Arc::new(StoreError::Db(redb::StorageError::Io(std::io::Error::other("injected failure")).into())))
        } else {
            apply(db, &batches).map_err(Arc::new)
        };
        let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.batches.fetch_add(batches.len() as u64, Ordering::Relaxed);
        stats.micros.fetch_add(micros, Ordering::Relaxed);
        if let Some(h) = observer.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            h.observe(t.elapsed().as_secs_f64());
        }
        if micros > 100_000 {
            tracing::warn!(micros, batches = batches.len(), "slow commit");
        }
        if result.is_ok() && feed.receiver_count() > 0 {
            for w in batches.iter().flat_map(|b| &b.writes) {
                if let Write::Audit(a) = w {
                    let _ = feed.send(Arc::new(a.as_ref().clone()));
                }
            }
        }
        if let Err(e) = &result {
            tracing::error!("commit of {} batches failed: {e}", batches.len());
        } else if let Some(f) = audit_log.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            use std::io::Write as _;
            let mut lines = Vec::new();
            for w in batches.iter().flat_map(|b| &b.writes) {
                if let Write::Audit(a) = w {
                    let _ = serde_json::to_writer(&mut lines, a.as_ref());
                    lines.push(b'\n');
                }
            }
            if !lines.is_empty() {
                if let Err(e) = f.write_all(&lines).and_then(|()| f.sync_data()) {
                    tracing::error!("audit log: {e}");
                }
            }
        }
        for b in batches {
            (b.done)(result.clone());
        }
    }
}

fn apply(db: &Database, batches: &[Batch]) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut events = txn.open_table(EVENTS)?;
        let mut keys = txn.open_table(EVENT_KEYS)?;
        let mut mitigations = txn.open_table(MITIGATIONS)?;
        let mut safelist = txn.open_table(SAFELIST)?;
        let mut audit = txn.open_table(AUDIT)?;
        for w in batches.iter().flat_map(|b| &b.writes) {
            match w {
                Write::Event(e) => {
                    events.insert(e.event_id.as_str(), encode(e.as_ref()).as_slice())?;
                    if let (EventAction::Ban, Some(ext), false) =
                        (e.action, &e.external_event_id, e.status == "rejected")
                    {
                        let v = format!("{}\u{1f}{}", e.event_id, e.mitigation_id.as_deref().unwrap_or(""));
                        keys.insert(event_key(&e.source, ext).as_str(), v.as_str())?;
                    }
                }
                Write::Mitigation(m) => {
                    mitigations.insert(m.mitigation_id.as_str(), encode(m.as_ref()).as_slice())?;
                }
                Write::Safelist(s) => {
                    safelist.insert(s.prefix.as_str(), encode(s).as_slice())?;
                }
                Write::SafelistRemove(p) => {
                    safelist.remove(p.as_str())?;
                }
                Write::Audit(a) => {
                    audit.insert(a.audit_id, encode(a.as_ref()).as_slice())?;
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// One page of `records` (newest first): those `keep` accepts, counted in `total`; those the
/// cursor has already passed (`seen`) and the first `offset` skipped; then `limit` of them.
fn paginate<K, T>(
    records: impl Iterator<Item = Result<(K, T), StoreError>>,
    page: &Page,
    mut keep: impl FnMut(&T) -> bool,
    key_of: impl Fn(&T) -> String,
    seen: impl Fn(&K) -> bool,
) -> Result<Listing<T>, StoreError> {
    let (mut items, mut total, mut skipped, mut more) = (Vec::new(), 0usize, 0usize, false);
    for r in records {
        let (key, rec) = r?;
        if !keep(&rec) {
            continue;
        }
        total += 1;
        if seen(&key) {
            continue;
        }
        if skipped < page.offset {
            skipped += 1;
            continue;
        }
        if items.len() < page.limit {
            items.push(rec);
        } else {
            more = true;
        }
    }
    let next_cursor = if more { items.last().map(key_of) } else { None };
    Ok(Listing { items, total, next_cursor })
}

/// A ban event's key entry: our event id and the mitigation it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// Our event id.
    pub event_id: String,
    /// The mitigation, if it started one.
    pub mitigation_id: Option<String>,
}

/// Which page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Most records to return.
    pub limit: usize,
    /// Records to skip (after the cursor).
    pub offset: usize,
    /// Start after this key (the `next_cursor` of the previous page). Listings run newest first.
    pub cursor: Option<String>,
}

/// A page of records, the number that matched the filter, and the cursor of the next page.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    /// The records.
    pub items: Vec<T>,
    /// How many matched in all.
    pub total: usize,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A consistent read view.
pub struct Reader {
    txn: redb::ReadTransaction,
}

impl Reader {
    fn list<T: DeserializeOwned>(
        &self,
        def: TableDefinition<'_, &str, &[u8]>,
        name: &'static str,
        page: &Page,
        keep: impl FnMut(&T) -> bool,
        key_of: impl Fn(&T) -> String,
    ) -> Result<Listing<T>, StoreError> {
        let table = self.txn.open_table(def)?;
        // Newest first: keys are UUID v7 and sort by creation time.
        let records = table.iter()?.rev().map(|entry| {
            let (k, v) = entry?;
            let rec: T = decode(name, k.value(), v.value())?;
            Ok((k.value().to_string(), rec))
        });
        paginate(records, page, keep, key_of, |key: &String| page.cursor.as_deref().is_some_and(|c| key.as_str() >= c))
    }

    /// Events, newest first, filtered.
    pub fn events(&self, page: &Page, keep: impl FnMut(&Event) -> bool) -> Result<Listing<Event>, StoreError> {
        self.list(EVENTS, "events", page, keep, |e| e.event_id.clone())
    }

    /// Mitigations, newest first, filtered.
    pub fn mitigations(
        &self,
        page: &Page,
        keep: impl FnMut(&Mitigation) -> bool,
    ) -> Result<Listing<Mitigation>, StoreError> {
        self.list(MITIGATIONS, "mitigations", page, keep, |m| m.mitigation_id.clone())
    }

    /// Every mitigation (oldest first), for start-up.
    pub fn all_mitigations(&self) -> Result<Vec<Mitigation>, StoreError> {
        let table = self.txn.open_table(MITIGATIONS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.push(decode("mitigations", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// One mitigation.
    pub fn mitigation(&self, id: &str) -> Result<Option<Mitigation>, StoreError> {
        let table = self.txn.open_table(MITIGATIONS)?;
        let v = table.get(id)?;
        v.map(|v| decode("mitigations", id, v.value())).transpose()
    }

    /// One event.
    pub fn event(&self, id: &str) -> Result<Option<Event>, StoreError> {
        let table = self.txn.open_table(EVENTS)?;
        let v = table.get(id)?;
        v.map(|v| decode("events", id, v.value())).transpose()
    }

    /// Every ban event's key, for start-up.
    pub fn event_keys(&self) -> Result<Vec<(String, EventRef)>, StoreError> {
        let table = self.txn.open_table(EVENT_KEYS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let (event_id, m) = v.value().split_once('\u{1f}').unwrap_or((v.value(), ""));
            let r = EventRef { event_id: event_id.to_string(), mitigation_id: (!m.is_empty()).then(|| m.to_string()) };
            out.push((k.value().to_string(), r));
        }
        Ok(out)
    }

    /// Number of events.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(EVENTS)?.len()?)
    }

    /// The safelist.
    pub fn safelist(&self) -> Result<Vec<SafelistRecord>, StoreError> {
        let table = self.txn.open_table(SAFELIST)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.push(decode("safelist", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Audit records, newest first, filtered; the cursor is an `audit_id`.
    pub fn audit(
        &self,
        page: &Page,
        keep: impl FnMut(&AuditRecord) -> bool,
    ) -> Result<Listing<AuditRecord>, StoreError> {
        let table = self.txn.open_table(AUDIT)?;
        let records = table.iter()?.rev().map(|entry| {
            let (k, v) = entry?;
            let rec: AuditRecord = decode("audit", &k.value().to_string(), v.value())?;
            Ok((k.value(), rec))
        });
        let cursor = page.cursor.as_deref().and_then(|c| c.parse::<u64>().ok());
        paginate(records, page, keep, |a| a.audit_id.to_string(), |key: &u64| cursor.is_some_and(|c| *key >= c))
    }

    /// Audit records after `id`, oldest first, at most `limit`.
    pub fn audit_after(&self, id: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let table = self.txn.open_table(AUDIT)?;
        let mut out = Vec::new();
        for entry in table.range(id.saturating_add(1)..)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry?;
            out.push(decode("audit", &k.value().to_string(), v.value())?);
        }
        Ok(out)
    }

    /// The highest audit id in use.
    pub fn last_audit_id(&self) -> Result<u64, StoreError> {
        let table = self.txn.open_table(AUDIT)?;
        let last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::model::{ActionType, MitigationStatus};
    use crate::policy::Vector;

    fn mitigation(id: u8, status: MitigationStatus) -> Mitigation {
        Mitigation {
            mitigation_id: format!("m{id:03}"),
            scope_hash: "00".into(),
            status,
            customer_id: Some("c1".into()),
            service_id: None,
            pop: "fra1".into(),
            victim_ip: "203.0.113.10".parse().unwrap(),
            vector: Vector::UdpFlood,
            action_type: ActionType::Discard,
            rate_bps: None,
            dst_prefix: "203.0.113.10/32".into(),
            protocol: Some(17),
            dst_ports: vec![53],
            rule: "dst 203.0.113.10/32 proto =17 then discard".into(),
            nlri: "00".into(),
            playbook: "p".into(),
            step: 0,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            expires_at: 1_700_000_100_000,
            withdrawn_at: None,
            attack_started_at: 1_700_000_000_000,
            escalated_at: None,
            triggering_event_id: None,
            last_event_id: None,
            event_count: 1,
            reason: None,
        }
    }

    fn safelist(id: u8) -> SafelistRecord {
        SafelistRecord {
            prefix: format!("192.0.2.{id}/32"),
            added_at: 1_700_000_000_000,
            added_by: "op".into(),
            reason: None,
            expires_at: None,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Mitigation(u8, bool),
        Safelist(u8),
        SafelistRemove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..20, any::<bool>()).prop_map(|(i, a)| Op::Mitigation(i, a)),
            (0u8..10).prop_map(Op::Safelist),
            (0u8..10).prop_map(Op::SafelistRemove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The store after any sequence of batches, committed and reopened, holds what a BTreeMap
        /// model holds.
        #[test]
        fn store_matches_model(batches in proptest::collection::vec(proptest::collection::vec(op(), 0..8), 1..12)) {
            let dir = tempdir();
            let path = dir.join("t.redb");
            let mut model_m: BTreeMap<String, Mitigation> = BTreeMap::new();
            let mut model_s: BTreeMap<String, SafelistRecord> = BTreeMap::new();
            {
                let store = Store::open(&path).unwrap();
                let mut pending = Vec::new();
                for batch in &batches {
                    let mut writes = Vec::new();
                    for op in batch {
                        match op {
                            Op::Mitigation(i, active) => {
                                let m = mitigation(*i, if *active { MitigationStatus::Active } else { MitigationStatus::Withdrawn });
                                model_m.insert(m.mitigation_id.clone(), m.clone());
                                writes.push(Write::Mitigation(Box::new(m)));
                            }
                            Op::Safelist(i) => {
                                let s = safelist(*i);
                                model_s.insert(s.prefix.clone(), s.clone());
                                writes.push(Write::Safelist(s));
                            }
                            Op::SafelistRemove(i) => {
                                let p = safelist(*i).prefix;
                                model_s.remove(&p);
                                writes.push(Write::SafelistRemove(p));
                            }
                        }
                    }
                    // Submitted without waiting, so the committer groups them.
                    let (tx, rx) = mpsc::channel();
                    store.submit(writes, move |r| { let _ = tx.send(r.is_ok()); });
                    pending.push(rx);
                }
                for rx in pending {
                    prop_assert!(rx.recv().unwrap());
                }
                store.close();
            }
            let store = Store::open(&path).unwrap();
            let r = store.read().unwrap();
            let got: BTreeMap<String, Mitigation> =
                r.all_mitigations().unwrap().into_iter().map(|m| (m.mitigation_id.clone(), m)).collect();
            prop_assert_eq!(got, model_m);
            let got: BTreeMap<String, SafelistRecord> =
                r.safelist().unwrap().into_iter().map(|s| (s.prefix.clone(), s)).collect();
            prop_assert_eq!(got, model_s);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    fn tempdir() -> std::path::PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "prefixd-store-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn pages_and_cursor() {
        let dir = tempdir();
        let store = Store::open(&dir.join("t.redb")).unwrap();
        let writes = (0..25).map(|i| Write::Mitigation(Box::new(mitigation(i, MitigationStatus::Active)))).collect();
        store.commit_blocking(writes).unwrap();
        let r = store.read().unwrap();
        let p1 = r.mitigations(&Page { limit: 10, ..Page::default() }, |_| true).unwrap();
        assert_eq!(p1.total, 25);
        assert_eq!(p1.items.first().unwrap().mitigation_id, "m024");
        let p2 =
            r.mitigations(&Page { limit: 10, cursor: p1.next_cursor.clone(), ..Page::default() }, |_| true).unwrap();
        assert_eq!(p2.items.first().unwrap().mitigation_id, "m014");
        let p3 =
            r.mitigations(&Page { limit: 10, cursor: p2.next_cursor.clone(), ..Page::default() }, |_| true).unwrap();
        assert_eq!(p3.items.len(), 5);
        assert_eq!(p3.next_cursor, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_record_version_is_a_clear_error() {
        let e = decode::<SafelistRecord>("safelist", "k", &[9, b'{', b'}']).unwrap_err().to_string();
        assert!(e.contains("record format 9"), "{e}");
    }
}
