//! The engine: one task that owns the desired set (the active mitigations) and decides.
//!
//! Requests arrive on a channel. The engine takes every request waiting, decides each against its
//! in-memory state (inventory, playbook, correlation, quiet period, guardrails), hands the routes
//! to the speaker at once, and the records to the store in one batch; each caller is answered
//! when that batch is durable. A crash after the announcement but before the commit leaves a rule
//! nobody was told about: on start the desired set is rebuilt from the store, and reconciliation
//! withdraws it.
//!
//! A timer expires TTLs and de-escalates; reconciliation compares the desired set with the
//! speaker's Loc-RIB and every Established peer's Adj-RIB-Out, periodically and after a session
//! comes up.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bgp_core::Family;
use serde::Serialize;
use serde_json::{json, Value};
use speaker::{Nlri, Route, Speaker};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::config::{Config, Loaded, Mode};
use crate::error::ApiError;
use crate::guardrails::{Candidate, Load, Refusal, SafelistEntry};
use crate::model::{
    now_ms, ActionType, Actor, AuditRecord, Event, EventAction, EventInput, Millis, Mitigation, MitigationStatus,
    SafelistRecord,
};
use crate::policy::{MatchSpec, MitigationAction, NoRule, Vector};
use crate::store::{event_key, EventRef, Store, Write};

/// The policy in force: configuration, inventory and playbooks, swapped whole on reload.
pub type Policy = Arc<Loaded>;

/// State the API reads without asking the engine.
#[derive(Debug)]
pub struct Shared {
    /// The policy in force.
    pub policy: RwLock<Policy>,
    /// Peer address -> session state name.
    pub peers: Mutex<BTreeMap<IpAddr, String>>,
    /// Active mitigations.
    pub active: AtomicUsize,
    /// Set when SIGTERM arrives: the API answers 503 to new changes.
    pub stopping: AtomicBool,
    /// Last reconciliation.
    pub last_reconcile: Mutex<Option<ReconcileReport>>,
    /// Unix ms at start.
    pub started_at: Millis,
    /// Events accepted since start.
    pub events_accepted: AtomicU64,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Set when the store can no longer be written or read back: no rule changes until restart.
    pub store_failed: Mutex<Option<String>>,
}

impl Shared {
    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What a POST /v1/events answers (202).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventOutcome {
    /// Our id.
    pub event_id: String,
    /// The detector's id.
    pub external_event_id: Option<String>,
    /// `accepted`, `extended`, `escalated`, `accepted_no_mitigation`, `accepted_no_playbook`,
    /// `withdrawn`, `ignored_no_event_id`, `not_found`, `no_active_mitigation`.
    pub status: String,
    /// The mitigation concerned.
    pub mitigation_id: Option<String>,
    /// Why no mitigation, when there is none (`not_in_inventory`, `quiet_period`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rule announced (or, in dry-run, that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// True when nothing is sent to BGP.
    pub dry_run: bool,
}

/// Manual mitigation (`POST /v1/mitigations`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualInput {
    /// Ignored: the actor comes from authentication. Accepted for old clients.
    #[serde(default)]
    pub operator_id: Option<String>,
    /// Why.
    pub reason: String,
    /// Victim.
    #[schema(value_type = String)]
    pub victim_ip: IpAddr,
    /// `udp`, `tcp` or `icmp`.
    pub protocol: String,
    /// Destination ports.
    #[serde(default)]
    pub dst_ports: Vec<u16>,
    /// `police` or `discard`.
    pub action: ActionType,
    /// Rate for police.
    #[serde(default)]
    pub rate_bps: Option<u64>,
    /// TTL.
    pub ttl_seconds: u64,
}

/// Which mitigations a bulk withdraw takes.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkWithdraw {
    /// These ids.
    #[serde(default)]
    pub mitigation_ids: Vec<String>,
    /// Every active one of this victim.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub victim_ip: Option<IpAddr>,
    /// Every active one of this customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Why.
    pub reason: String,
    /// Ignored (actor from authentication).
    #[serde(default)]
    pub operator_id: Option<String>,
}

/// What one reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReconcileReport {
    /// When.
    #[serde(with = "crate::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    /// Mitigations in the desired set.
    pub desired: usize,
    /// Desired rules missing from the Loc-RIB or a peer's Adj-RIB-Out, announced.
    pub announced: usize,
    /// Rules in the Loc-RIB or an Adj-RIB-Out that no mitigation wants, withdrawn.
    pub withdrawn: usize,
    /// Rules whose action differed, replaced.
    pub replaced: usize,
    /// Peers compared.
    pub peers: usize,
    /// True in dry-run: nothing is compared or sent, the counts are zero.
    pub dry_run: bool,
}

type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// A request to the engine.
#[derive(Debug)]
pub enum Request {
    /// One event.
    Event(Box<EventInput>, Actor, Reply<EventOutcome>),
    /// Several events; one answer each, in order.
    Batch(Vec<EventInput>, Actor, oneshot::Sender<Vec<Result<EventOutcome, ApiError>>>),
    /// An operator's mitigation.
    Create(Box<ManualInput>, Actor, Reply<Mitigation>),
    /// Withdraw one.
    Withdraw(String, String, Actor, Reply<Mitigation>),
    /// Withdraw several.
    BulkWithdraw(BulkWithdraw, Actor, Reply<Value>),
    /// Add to the safelist.
    SafelistAdd(SafelistRecord, Actor, Reply<SafelistRecord>),
    /// Remove from the safelist.
    SafelistRemove(String, Actor, Reply<()>),
    /// Replace the policy (reload, playbook change); `what` names it in the audit.
    SetPolicy(Policy, &'static str, Actor, Reply<()>),
    /// Reconcile now.
    Reconcile(oneshot::Sender<ReconcileReport>),
    /// Finish what is queued and stop.
    Stop(oneshot::Sender<()>),
}

/// The handle the API uses.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    /// Shared state.
    pub shared: Arc<Shared>,
    /// The store (reads).
    pub store: Store,
    /// The speaker (status and counters), when there is one.
    pub speaker: Option<Speaker>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("store", &self.store).finish_non_exhaustive()
    }
}

impl Handle {
    /// Sends a request and waits for its answer.
    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| ApiError::shutting_down())?;
        rx.await.unwrap_or_else(|_| Err(ApiError::shutting_down()))
    }

    /// Sends a request with a custom reply channel.
    pub async fn send(&self, r: Request) -> Result<(), ApiError> {
        self.tx.send(r).await.map_err(|_| ApiError::shutting_down())
    }
}

/// Scope: one attack on one address with one vector.
type Scope = (IpAddr, Vector);

struct State {
    shared: Arc<Shared>,
    store: Store,
    speaker: Option<Speaker>,
    /// Boxed: a resize of a map of 100,000s of mitigations moves pointers, not records.
    active: HashMap<String, Box<Mitigation>>,
    by_scope: HashMap<Scope, Vec<String>>,
    per_customer: HashMap<String, usize>,
    /// Active mitigations per address family: [IPv4, IPv6].
    per_family: [usize; 2],
    /// Attacks by scope: (first event, latest event) while events keep coming within the
    /// correlation window; escalation measures persistence from the first.
    attacks: HashMap<Scope, (Millis, Millis)>,
    /// The desired set as routes: NLRI -> (mitigation id, route), kept beside `active`.
    desired: HashMap<Nlri, (String, Route)>,
    nlri_of: HashMap<String, Nlri>,
    quiet: HashMap<Scope, Millis>,
    event_keys: HashMap<String, EventRef>,
    safelist: BTreeMap<String, SafelistRecord>,
    new_times: VecDeque<Millis>,
    audit_seq: u64,
    /// When the engine took the requests being decided (for the announcement latency).
    batch_started: Option<std::time::Instant>,
    /// A failed commit asks for the in-memory state to be rebuilt from the store.
    reload_tx: mpsc::UnboundedSender<()>,
    /// Why the store can no longer be used: every change is refused (503), nothing expires or is
    /// reconciled, and the routers keep the rules they have until prefixd is restarted.
    failed: Option<String>,
    // Per batch:
    writes: Vec<Write>,
    routes: BTreeMap<Nlri, Option<Route>>,
}

/// Starts the engine: loads the desired set from the store, hands it to the speaker (before any
/// peer is added, so it is the initial table) and spawns the task.
pub fn start(
    store: Store,
    policy: Policy,
    speaker: Option<Speaker>,
    speaker_events: Option<mpsc::UnboundedReceiver<speaker::Event>>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), crate::store::StoreError> {
    let now = now_ms();
    let shared = Arc::new(Shared {
        policy: RwLock::new(policy),
        peers: Mutex::new(BTreeMap::new()),
        active: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
        last_reconcile: Mutex::new(None),
        started_at: now,
        events_accepted: AtomicU64::new(0),
        metrics: Arc::new(crate::metrics::Metrics::new()),
        store_failed: Mutex::new(None),
    });
    store.observe_commits(shared.metrics.store_commit.clone());
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let mut st = State {
        failed: None,
        batch_started: None,
        reload_tx,
        shared: shared.clone(),
        store: store.clone(),
        speaker,
        active: HashMap::new(),
        by_scope: HashMap::new(),
        per_customer: HashMap::new(),
        per_family: [0, 0],
        attacks: HashMap::new(),
        desired: HashMap::new(),
        nlri_of: HashMap::new(),
        quiet: HashMap::new(),
        event_keys: HashMap::new(),
        safelist: BTreeMap::new(),
        new_times: VecDeque::new(),
        audit_seq: 0,
        writes: Vec::new(),
        routes: BTreeMap::new(),
    };
    st.load()?;
    let (tx, rx) = mpsc::channel(8192);
    let handle = Handle { tx, shared, store, speaker: st.speaker.clone() };
    let task = tokio::spawn(run(st, rx, speaker_events, reload_rx));
    Ok((handle, task))
}

async fn run(
    mut st: State,
    mut rx: mpsc::Receiver<Request>,
    mut speaker_events: Option<mpsc::UnboundedReceiver<speaker::Event>>,
    mut reload_rx: mpsc::UnboundedReceiver<()>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let interval = |st: &State| Duration::from_secs(st.shared.policy().config.timers.reconciliation_interval_seconds);
    let mut next_reconcile = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut stop: Option<oneshot::Sender<()>> = None;
    loop {
        tokio::select! {
            // Timers and failures before requests: a steady stream of requests must not hold back
            // expiry, reconciliation or the reload after a failed commit.
            biased;
            Some(()) = reload_rx.recv() => {
                // A commit failed: what was decided in memory for it was answered 500, so forget it
                // and take the store's word; reconciliation then corrects the routers. First let
                // the batches queued behind it settle, and check the store still commits: a store
                // that failed for good (redb refuses everything after an I/O error) must not be
                // read as "nothing is active" and withdraw every rule from the routers.
                while reload_rx.try_recv().is_ok() {}
                let probe = st.store.commit(Vec::new()).await;
                while reload_rx.try_recv().is_ok() {}
                match probe.map_err(|e| e.to_string()).and_then(|()| st.load().map_err(|e| e.to_string())) {
                    Ok(()) => {
                        warn!("a commit failed: state reloaded from the store");
                        next_reconcile = tokio::time::Instant::now();
                    }
                    Err(e) => st.fail(&e),
                }
            }
            () = tokio::time::sleep_until(next_reconcile), if st.failed.is_none() => {
                st.reconcile().await;
                next_reconcile = tokio::time::Instant::now() + interval(&st);
            }
            _ = tick.tick(), if st.failed.is_none() => {
                let t = std::time::Instant::now();
                st.tick(now_ms());
                st.flush(Vec::new());
                if t.elapsed() > Duration::from_millis(50) {
                    warn!(ms = t.elapsed().as_millis(), active = st.active.len(), "slow expiry tick");
                }
            }
            Some(e) = async { match speaker_events.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                if st.peer_event(&e) {
                    // The initial table is on its way; compare once it has had time to go.
                    next_reconcile = next_reconcile.min(tokio::time::Instant::now() + Duration::from_secs(2));
                }
            }
            r = rx.recv() => {
                let Some(first) = r else { break };
                let t = std::time::Instant::now();
                st.batch_started = Some(t);
                let mut reqs = vec![first];
                while reqs.len() < 1024 {
                    match rx.try_recv() {
                        Ok(r) => reqs.push(r),
                        Err(_) => break,
                    }
                }
                let mut finishers: Vec<Finisher> = Vec::new();
                for r in reqs {
                    match r {
                        Request::Stop(done) => stop = Some(done),
                        Request::Reconcile(done) => {
                            st.flush(std::mem::take(&mut finishers));
                            let report = st.reconcile().await;
                            let _ = done.send(report);
                        }
                        r => finishers.push(st.handle(r)),
                    }
                }
                st.flush(finishers);
                if t.elapsed() > Duration::from_millis(50) {
                    warn!(ms = t.elapsed().as_millis(), "slow engine batch");
                }
                if let Some(done) = stop.take() {
                    // Wait for the last commit: a request answered is a request stored.
                    let _ = st.store.commit(Vec::new()).await;
                    let _ = done.send(());
                    break;
                }
            }
        }
    }
}

/// The reason of a mitigation a wider one replaced, before the new one's id.
const REPLACED_BY: &str = "replaced by ";

/// The playbook name of an operator's mitigation.
const MANUAL: &str = "manual";

/// Runs once the batch is durable (or failed).
type Finisher = Box<dyn FnOnce(Result<(), ApiError>) + Send>;

fn finisher<T: Send + 'static>(reply: Reply<T>, result: Result<T, ApiError>) -> Finisher {
    Box::new(move |stored: Result<(), ApiError>| {
        let _ = reply.send(stored.and(result));
    })
}

/// A refusal answered without waiting for the store (nothing to store).
fn immediate<T: Send + 'static>(reply: Reply<T>, e: ApiError) -> Finisher {
    let _ = reply.send(Err(e));
    Box::new(|_| {})
}

fn hash_hex(parts: &[&[u8]]) -> String {
    // FNV-1a, 64 bits: a stable label for a scope, not a security boundary.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A UUID v7 (RFC 9562 §5.7): the millisecond clock, then 74 bits from a per-process xorshift
/// generator seeded once from the OS (ids need to be unique and time-ordered, not secret; one
/// getrandom call per id cost two system calls per event).
fn new_id() -> String {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(now_ms());
            h.finish() | 1
        });
    }
    let mut bytes = [0u8; 10];
    STATE.with(|s| {
        for chunk in bytes.chunks_mut(5) {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            for (b, v) in chunk.iter_mut().zip(x.to_le_bytes()) {
                *b = v;
            }
        }
    });
    uuid::Builder::from_unix_timestamp_millis(now_ms(), &bytes).into_uuid().to_string()
}

fn action_of(m: &Mitigation) -> MitigationAction {
    match m.action_type {
        ActionType::Police => MitigationAction::Police { rate_bps: m.rate_bps.unwrap_or(0) },
        ActionType::Discard => MitigationAction::Discard,
    }
}

/// The route a mitigation calls for.
pub fn route_of(m: &Mitigation) -> Result<Route, String> {
    let spec = MatchSpec { victim: m.victim_ip, vector: m.vector, dst_ports: m.dst_ports.clone() };
    let rule = spec.rule(action_of(m)).map_err(|e| e.to_string())?;
    Route::flowspec(&rule).map_err(|e| e.to_string())
}

/// Ports as a set where empty means every port.
fn port_relation(existing: &[u16], new: &[u16]) -> Relation {
    let covers = |a: &[u16], b: &[u16]| a.is_empty() || (!b.is_empty() && b.iter().all(|p| a.contains(p)));
    if covers(existing, new) {
        Relation::Subset
    } else if covers(new, existing) {
        Relation::Superset
    } else if existing.iter().any(|p| new.contains(p)) {
        Relation::Overlap
    } else {
        Relation::Disjoint
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The new event's ports are within an active mitigation's: keep it.
    Subset,
    /// The new event covers an active mitigation: replace it.
    Superset,
    /// Some ports shared: extend the mitigation to both.
    Overlap,
    /// Nothing shared: a mitigation beside it.
    Disjoint,
}

impl State {
    fn load(&mut self) -> Result<(), crate::store::StoreError> {
        // Everything is read before anything is replaced: a read that fails half-way leaves the
        // state as it was.
        let r = self.store.read()?;
        let mitigations = r.all_mitigations()?;
        let event_keys = r.event_keys()?;
        let safelist = r.safelist()?;
        let audit_seq = r.last_audit_id()?;
        drop(r);
        let now = now_ms();
        self.shared.metrics.mitigations_active.clear();
        self.active.clear();
        self.by_scope.clear();
        self.per_customer.clear();
        self.per_family = [0, 0];
        self.desired.clear();
        self.nlri_of.clear();
        for m in mitigations {
            if m.status.is_active() {
                self.index(m);
            }
        }
        self.event_keys = event_keys.into_iter().collect();
        self.safelist = safelist.into_iter().map(|s| (s.prefix.clone(), s)).collect();
        self.audit_seq = audit_seq;
        info!(active = self.active.len(), events = self.event_keys.len(), "desired set loaded from the store");
        // Expired while we were down: withdrawn (and recorded) by the first tick.
        self.tick(now);
        let routes: Vec<Route> = self.desired.values().map(|(_, r)| r.clone()).collect();
        if self.enforced() {
            if let Some(s) = &self.speaker {
                s.announce(routes);
            }
        }
        self.routes.clear();
        self.sync_count();
        Ok(())
    }

    fn enforced(&self) -> bool {
        self.shared.policy().config.mode == Mode::Enforced
    }

    fn sync_count(&self) {
        self.shared.active.store(self.active.len(), Ordering::Relaxed);
    }

    fn action_pop(m: &Mitigation) -> crate::metrics::ActionPop {
        let action_type = match m.action_type {
            ActionType::Police => "police",
            ActionType::Discard => "discard",
        };
        crate::metrics::ActionPop { action_type: action_type.into(), pop: m.pop.clone() }
    }

    /// Keeps `desired` in step with a mitigation's route.
    fn set_route(&mut self, id: &str, route: Option<Route>) {
        if let Some(old) = self.nlri_of.remove(id) {
            self.desired.remove(&old);
        }
        if let Some(r) = route {
            self.nlri_of.insert(id.to_string(), r.nlri.clone());
            self.desired.insert(r.nlri.clone(), (id.to_string(), r));
        }
    }

    /// Puts a changed active mitigation back, with its route.
    fn replace_active(&mut self, m: Mitigation) {
        if let Some(old) = self.active.get(&m.mitigation_id) {
            self.shared.metrics.mitigations_active.get_or_create(&Self::action_pop(old)).dec();
            self.shared.metrics.mitigations_active.get_or_create(&Self::action_pop(&m)).inc();
        }
        let route = route_of(&m).ok();
        self.set_route(&m.mitigation_id.clone(), route);
        self.active.insert(m.mitigation_id.clone(), Box::new(m));
    }

    fn index(&mut self, m: Mitigation) {
        match route_of(&m) {
            Ok(r) => self.index_with(m, r),
            Err(e) => {
                warn!(mitigation = %m.mitigation_id, "cannot build its route: {e}");
                self.index_with_route(m, None);
            }
        }
    }

    /// Indexes an active mitigation whose route is already built, and queues its announcement.
    fn activate(&mut self, m: Mitigation, route: Route) {
        self.routes.insert(route.nlri.clone(), Some(route.clone()));
        self.index_with(m, route);
    }

    fn index_with(&mut self, m: Mitigation, route: Route) {
        self.index_with_route(m, Some(route));
    }

    fn index_with_route(&mut self, m: Mitigation, route: Option<Route>) {
        self.shared.metrics.mitigations_active.get_or_create(&Self::action_pop(&m)).inc();
        let manual = m.playbook == MANUAL;
        if let Some(n) = self.per_family.get_mut(usize::from(m.victim_ip.is_ipv6())) {
            *n += 1;
        }
        self.set_route(&m.mitigation_id.clone(), route);
        // Operators' mitigations stand alone: detector events do not correlate with them.
        if !manual {
            self.by_scope.entry((m.victim_ip, m.vector)).or_default().push(m.mitigation_id.clone());
        }
        if let Some(c) = &m.customer_id {
            *self.per_customer.entry(c.clone()).or_default() += 1;
        }
        self.active.insert(m.mitigation_id.clone(), Box::new(m));
    }

    fn unindex(&mut self, id: &str) -> Option<Mitigation> {
        let m = *self.active.remove(id)?;
        self.shared.metrics.mitigations_active.get_or_create(&Self::action_pop(&m)).dec();
        self.set_route(id, None);
        if let Some(n) = self.per_family.get_mut(usize::from(m.victim_ip.is_ipv6())) {
            *n = n.saturating_sub(1);
        }
        if let Some(c) = &m.customer_id {
            if let Some(n) = self.per_customer.get_mut(c) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_customer.remove(c);
                }
            }
        }
        let key = (m.victim_ip, m.vector);
        if let Some(ids) = self.by_scope.get_mut(&key) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.by_scope.remove(&key);
            }
        }
        Some(m)
    }

    fn audit(&mut self, actor: &Actor, action: &str, target: (&str, &str), details: Value) {
        self.audit_seq += 1;
        self.writes.push(Write::Audit(Box::new(AuditRecord {
            audit_id: self.audit_seq,
            timestamp: now_ms(),
            schema_version: 1,
            actor_type: actor.kind.to_string(),
            actor_id: Some(actor.id.clone()),
            action: action.to_string(),
            target_type: Some(target.0.to_string()),
            target_id: Some(target.1.to_string()),
            details,
        })));
    }

    /// Sends this batch's route changes, then its records; the finishers run once durable.
    fn flush(&mut self, finishers: Vec<Finisher>) {
        let routes = std::mem::take(&mut self.routes);
        let started = self.batch_started.take();
        if !routes.is_empty() {
            let (mut ann, mut wd) = (Vec::new(), Vec::new());
            for (n, r) in routes {
                match r {
                    Some(r) => ann.push(r),
                    None => wd.push(n),
                }
            }
            if self.enforced() {
                if let Some(s) = &self.speaker {
                    let m = &self.shared.metrics;
                    m.announcements
                        .get_or_create(&crate::metrics::Kind { kind: "withdraw".into() })
                        .inc_by(wd.len() as u64);
                    m.announcements
                        .get_or_create(&crate::metrics::Kind { kind: "announce".into() })
                        .inc_by(ann.len() as u64);
                    s.withdraw(wd);
                    s.announce(ann);
                    if let Some(t) = started {
                        m.announcement_latency.observe(t.elapsed().as_secs_f64());
                    }
                }
            } else {
                let text = |n: &Nlri| n.as_flowspec().map(|f| f.to_string()).unwrap_or_default();
                for r in &ann {
                    info!(nlri = %hex(r.nlri.bytes()), rule = %text(&r.nlri), "dry-run: would announce");
                }
                for n in &wd {
                    info!(nlri = %hex(n.bytes()), rule = %text(n), "dry-run: would withdraw");
                }
            }
        }
        self.sync_count();
        let writes = std::mem::take(&mut self.writes);
        if writes.is_empty() {
            for f in finishers {
                f(Ok(()));
            }
            return;
        }
        let reload = self.reload_tx.clone();
        self.store.submit(writes, move |r| {
            if r.is_err() {
                let _ = reload.send(());
            }
            let r = r.map_err(ApiError::store);
            for f in finishers {
                f(r.clone());
            }
        });
    }

    /// The store failed for good: stop changing anything, say so everywhere.
    fn fail(&mut self, why: &str) {
        tracing::error!(
            "the store can no longer be written or read ({why}): every change is refused until prefixd is \
             restarted; the routers keep the rules they have"
        );
        self.routes.clear();
        self.writes.clear();
        *self.shared.store_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
        self.failed = Some(why.to_string());
    }

    /// The answer to any change while the store is failing.
    fn refuse(r: Request, why: &str) -> Finisher {
        let e =
            || ApiError::new(503, format!("the store is failing ({why}); restart prefixd")).with("retryable", false);
        match r {
            Request::Event(_, _, reply) => immediate(reply, e()),
            Request::Batch(inputs, _, reply) => {
                let _ = reply.send(inputs.iter().map(|_| Err(e())).collect());
                Box::new(|_| {})
            }
            Request::Create(_, _, reply) => immediate(reply, e()),
            Request::Withdraw(_, _, _, reply) => immediate(reply, e()),
            Request::BulkWithdraw(_, _, reply) => immediate(reply, e()),
            Request::SafelistAdd(_, _, reply) => immediate(reply, e()),
            Request::SafelistRemove(_, _, reply) => immediate(reply, e()),
            Request::SetPolicy(_, _, _, reply) => immediate(reply, e()),
            Request::Reconcile(_) | Request::Stop(_) => Box::new(|_| {}),
        }
    }

    fn handle(&mut self, r: Request) -> Finisher {
        if let Some(why) = &self.failed {
            return Self::refuse(r, why);
        }
        // Requests already queued when the daemon starts stopping are decided and committed: the
        // API refuses new changes with 503 from that moment.
        match r {
            Request::Event(input, actor, reply) => match self.event(*input, &actor) {
                Ok(o) => finisher(reply, Ok(o)),
                Err((e, stored)) if stored => finisher(reply, Err(e)),
                Err((e, _)) => immediate(reply, e),
            },
            Request::Batch(inputs, actor, reply) => {
                let results: Vec<Result<EventOutcome, ApiError>> =
                    inputs.into_iter().map(|i| self.event(i, &actor).map_err(|(e, _)| e)).collect();
                Box::new(move |stored: Result<(), ApiError>| {
                    let out = match stored {
                        Ok(()) => results,
                        Err(e) => results.into_iter().map(|_| Err(e.clone())).collect(),
                    };
                    let _ = reply.send(out);
                })
            }
            Request::Create(input, actor, reply) => match self.create(*input, &actor) {
                Ok(m) => finisher(reply, Ok(m)),
                Err(e) => {
                    if let Some(g) = e.extra.get("guardrail").and_then(|g| g.get("guardrail")).and_then(Value::as_str) {
                        self.shared
                            .metrics
                            .guardrail_rejections
                            .get_or_create(&crate::metrics::Reason { reason: g.into() })
                            .inc();
                    }
                    immediate(reply, e)
                }
            },
            Request::Withdraw(id, reason, actor, reply) => match self.withdraw(&id, &reason, &actor) {
                Ok(m) => finisher(reply, Ok(m)),
                Err(e) => immediate(reply, e),
            },
            Request::BulkWithdraw(b, actor, reply) => {
                let v = self.bulk_withdraw(&b, &actor);
                finisher(reply, Ok(v))
            }
            Request::SafelistAdd(rec, actor, reply) => {
                self.audit(
                    &actor,
                    "safelist_added",
                    ("safelist", &rec.prefix.clone()),
                    json!({"reason": rec.reason, "expires_at": rec.expires_at.map(crate::model::rfc3339)}),
                );
                self.safelist.insert(rec.prefix.clone(), rec.clone());
                self.writes.push(Write::Safelist(rec.clone()));
                // Never mitigated: what is active on the prefix goes now.
                if let Ok(net) = rec.prefix.parse::<crate::inventory::ipnet_str::Net>() {
                    let covered: Vec<String> = self
                        .active
                        .values()
                        .filter(|m| net.contains(m.victim_ip))
                        .map(|m| m.mitigation_id.clone())
                        .collect();
                    let now = now_ms();
                    for id in covered {
                        self.end(
                            &id,
                            MitigationStatus::Withdrawn,
                            &format!("safelisted {}", rec.prefix),
                            &actor,
                            now,
                            false,
                        );
                    }
                }
                finisher(reply, Ok(rec))
            }
            Request::SafelistRemove(prefix, actor, reply) => {
                if self.safelist.remove(&prefix).is_none() {
                    return immediate(reply, ApiError::not_found(format!("{prefix} is not in the safelist")));
                }
                self.audit(&actor, "safelist_removed", ("safelist", &prefix), Value::Null);
                self.writes.push(Write::SafelistRemove(prefix));
                finisher(reply, Ok(()))
            }
            Request::SetPolicy(policy, what, actor, reply) => {
                let old =
                    std::mem::replace(&mut *self.shared.policy.write().unwrap_or_else(|p| p.into_inner()), policy);
                let target = if what == "playbooks_updated" { "playbooks" } else { "config" };
                self.audit(&actor, what, ("config", target), Value::Null);
                // No policy without its audit record: a failed commit puts the old one back.
                let shared = self.shared.clone();
                Box::new(move |stored: Result<(), ApiError>| {
                    if stored.is_err() {
                        *shared.policy.write().unwrap_or_else(|p| p.into_inner()) = old;
                    }
                    let _ = reply.send(stored);
                })
            }
            Request::Reconcile(_) | Request::Stop(_) => Box::new(|_| {}),
        }
    }

    fn safelist_entries(&self, now: Millis) -> Vec<SafelistEntry> {
        let cfg = &self.shared.policy().config;
        let mut v: Vec<SafelistEntry> =
            cfg.safelist.prefixes.iter().map(|p| SafelistEntry { prefix: *p, expires_at: None }).collect();
        for r in self.safelist.values() {
            if let Ok(prefix) = r.prefix.parse() {
                v.push(SafelistEntry { prefix, expires_at: r.expires_at });
            }
        }
        v.retain(|e| e.expires_at.is_none_or(|t| t > now));
        v
    }

    fn quota_load(&mut self, customer: Option<&str>, v6: bool, now: Millis) -> Load {
        while self.new_times.front().is_some_and(|t| t + 60_000 <= now) {
            self.new_times.pop_front();
        }
        Load {
            customer_active: customer.and_then(|c| self.per_customer.get(c).copied()).unwrap_or(0),
            pop_active: self.active.len(),
            global_active: self.active.len(),
            new_last_minute: self.new_times.len(),
            peer_announced: self.per_family.get(usize::from(v6)).copied().unwrap_or(0),
        }
    }

    /// Runs every guardrail for a new mitigation.
    fn guard(&mut self, spec: &MatchSpec, ttl: u64, customer: Option<&str>, now: Millis) -> Result<(), Refusal> {
        let policy = self.shared.policy();
        let cfg: &Config = &policy.config;
        let load = self.quota_load(customer, spec.victim.is_ipv6(), now);
        let safelist = self.safelist_entries(now);
        let prefix_len = if spec.victim.is_ipv6() { 128 } else { 32 };
        let c = Candidate { spec, prefix_len, ttl_seconds: ttl };
        cfg.guardrails.check(&cfg.quotas, &c, load, &safelist, now)
    }

    #[allow(clippy::too_many_lines)]
    /// One event, counted in the metrics.
    fn event(&mut self, input: EventInput, actor: &Actor) -> Result<EventOutcome, (ApiError, bool)> {
        use crate::metrics::{Reason, SourceReason, SourceVector};
        let source = self.shared.metrics.source_label(&input.source);
        let vector =
            serde_json::to_value(input.vector).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let r = self.event_inner(input, actor);
        let m = &self.shared.metrics;
        match &r {
            Ok(_) => m.events_ingested.get_or_create(&SourceVector { source, vector }).inc(),
            Err((e, _)) => {
                let reason = match e.status {
                    409 => "duplicate".to_string(),
                    400 => "invalid".to_string(),
                    _ => e
                        .extra
                        .get("guardrail")
                        .and_then(|g| g.get("guardrail"))
                        .and_then(Value::as_str)
                        .unwrap_or("refused")
                        .to_string(),
                };
                if e.status == 422 {
                    m.guardrail_rejections.get_or_create(&Reason { reason: reason.clone() }).inc();
                }
                m.events_rejected.get_or_create(&SourceReason { source, reason }).inc()
            }
        };
        r
    }

    fn event_inner(&mut self, input: EventInput, actor: &Actor) -> Result<EventOutcome, (ApiError, bool)> {
        input.check().map_err(|e| (ApiError::bad_request(e), false))?;
        let now = now_ms();
        let policy = self.shared.policy();
        let dry_run = policy.config.mode != Mode::Enforced;
        let v6 = input.victim_ip.is_ipv6();
        let mut ev = Event {
            event_id: new_id(),
            external_event_id: input.event_id.clone(),
            source: input.source.clone(),
            event_timestamp: input.timestamp,
            ingested_at: now,
            victim_ip: input.victim_ip,
            vector: input.vector,
            protocol: input.vector.protocol(v6),
            bps: input.bps,
            pps: input.pps,
            top_dst_ports: input.top_dst_ports.clone(),
            confidence: input.confidence,
            action: input.action,
            ttl_seconds: input.ttl_seconds,
            raw_details: input.raw_details.clone(),
            status: String::new(),
            mitigation_id: None,
        };
        let outcome = |ev: &Event, reason: Option<&str>, rule: Option<String>| EventOutcome {
            event_id: ev.event_id.clone(),
            external_event_id: ev.external_event_id.clone(),
            status: ev.status.clone(),
            mitigation_id: ev.mitigation_id.clone(),
            reason: reason.map(str::to_string),
            rule,
            dry_run,
        };
        if input.action == EventAction::Unban {
            let (status, mid, reason) = self.unban(&input, actor, now);
            ev.status = status.into();
            ev.mitigation_id = mid;
            let o = outcome(&ev, reason, None);
            self.store_event(ev, actor);
            return Ok(o);
        }
        let key = input.event_id.as_deref().map(|id| event_key(&input.source, id));
        if let Some(existing) = key.as_ref().and_then(|k| self.event_keys.get(k)) {
            let mut e = ApiError::conflict("duplicate event: this source already sent this event_id")
                .with("event_id", existing.event_id.clone());
            if let Some(m) = &existing.mitigation_id {
                e = e.with("mitigation_id", m.clone());
            }
            return Err((e, false));
        }
        let result = self.ban(&input, &mut ev, now, actor);
        // A refused event does not take its id: the detector may send it again once the refusal
        // is lifted (safelist entry removed, quota freed).
        if let Some(k) = key.filter(|_| ev.status != "rejected") {
            self.event_keys
                .insert(k, EventRef { event_id: ev.event_id.clone(), mitigation_id: ev.mitigation_id.clone() });
        }
        self.shared.events_accepted.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok((reason, rule)) => {
                let o = outcome(&ev, reason, rule);
                self.store_event(ev, actor);
                Ok(o)
            }
            Err(e) => {
                let e = e.with("event_id", ev.event_id.clone()).with("status", ev.status.clone());
                self.store_event(ev, actor);
                Err((e, true))
            }
        }
    }

    fn store_event(&mut self, ev: Event, actor: &Actor) {
        // A refused event is kept (IP history, stats) but audited as what it was.
        let action = if ev.status == "rejected" { "event_rejected" } else { "event_accepted" };
        self.audit(
            actor,
            action,
            ("event", &ev.event_id.clone()),
            json!({"status": ev.status, "victim_ip": ev.victim_ip, "vector": ev.vector, "mitigation_id": ev.mitigation_id}),
        );
        self.writes.push(Write::Event(Box::new(ev)));
    }

    fn unban(
        &mut self,
        input: &EventInput,
        actor: &Actor,
        now: Millis,
    ) -> (&'static str, Option<String>, Option<&'static str>) {
        let Some(id) = &input.event_id else { return ("ignored_no_event_id", None, None) };
        let Some(r) = self.event_keys.get(&event_key(&input.source, id)).cloned() else {
            return ("not_found", None, None);
        };
        let Some(mut mid) = r.mitigation_id else { return ("no_active_mitigation", None, None) };
        // Its mitigation may have been replaced by a wider one (a superset event): the unban ends
        // the one that took its place. A few hops at most.
        for _ in 0..8 {
            if self.active.contains_key(&mid) {
                break;
            }
            let next = self
                .store
                .read()
                .ok()
                .and_then(|r| r.mitigation(&mid).ok().flatten())
                .and_then(|m| m.reason.as_deref().and_then(|x| x.strip_prefix(REPLACED_BY)).map(str::to_string));
            match next {
                Some(n) => mid = n,
                None => break,
            }
        }
        match self.active.get(&mid) {
            None => return ("no_active_mitigation", Some(mid), None),
            // The event only found an operator's rule in place: a detector's unban does not end it.
            Some(m) if m.playbook == MANUAL => {
                return ("no_active_mitigation", Some(mid), Some("manual_mitigation_kept"))
            }
            Some(_) => {}
        }
        match self.end(&mid, MitigationStatus::Withdrawn, &format!("unban from {}", input.source), actor, now, true) {
            Some(_) => ("withdrawn", Some(mid), None),
            None => ("no_active_mitigation", Some(mid), None),
        }
    }

    /// Ends an active mitigation: withdrawn or expired. `quiet` starts the scope's quiet period.
    fn end(
        &mut self,
        id: &str,
        status: MitigationStatus,
        reason: &str,
        actor: &Actor,
        now: Millis,
        quiet: bool,
    ) -> Option<Mitigation> {
        let nlri = self.nlri_of.get(id).cloned();
        let mut m = self.unindex(id)?;
        if let Some(n) = nlri {
            self.routes.insert(n, None);
        }
        m.status = status;
        m.withdrawn_at = Some(now);
        m.updated_at = now;
        m.reason = Some(reason.to_string());
        if quiet {
            self.quiet.insert((m.victim_ip, m.vector), now);
        }
        let action = if status == MitigationStatus::Expired { "mitigation_expired" } else { "mitigation_withdrawn" };
        let labels = Self::action_pop(&m);
        if status == MitigationStatus::Expired {
            self.shared.metrics.mitigations_expired.get_or_create(&labels).inc();
        } else {
            let why = if reason.starts_with("unban") {
                "unban"
            } else if reason.starts_with("replaced") {
                "replaced"
            } else if reason.starts_with("safelisted") {
                "safelisted"
            } else {
                "operator"
            };
            let l = crate::metrics::ActionPopReason {
                action_type: labels.action_type,
                pop: labels.pop,
                reason: why.into(),
            };
            self.shared.metrics.mitigations_withdrawn.get_or_create(&l).inc();
        }
        self.audit(actor, action, ("mitigation", id), json!({"reason": reason, "rule": m.rule}));
        self.writes.push(Write::Mitigation(Box::new(m.clone())));
        Some(m)
    }

    /// A ban: `Ok((reason, rule))` with `ev.status` set, or a refusal (422) with `ev.status` set.
    #[allow(clippy::too_many_lines)]
    fn ban(
        &mut self,
        input: &EventInput,
        ev: &mut Event,
        now: Millis,
        actor: &Actor,
    ) -> Result<(Option<&'static str>, Option<String>), ApiError> {
        let policy = self.shared.policy();
        let Some(owner) = policy.inventory.lookup(input.victim_ip) else {
            ev.status = "accepted_no_mitigation".into();
            return Ok((Some("not_in_inventory"), None));
        };
        let customer_id = owner.customer.customer_id.clone();
        let service_id = owner.service.map(|s| s.service_id.clone());
        let allowed = owner.service.and_then(|s| s.allowed_ports.as_ref());
        let Some(playbook) = policy.playbooks.select(input.vector, &input.top_dst_ports) else {
            ev.status = "accepted_no_playbook".into();
            return Ok((Some("no_playbook_for_vector"), None));
        };
        let spec = match MatchSpec::new(input.victim_ip, input.vector, &input.top_dst_ports, allowed) {
            Ok(s) => s,
            Err(e) => {
                ev.status = "rejected".into();
                let name = match &e {
                    NoRule::DisjointPorts { .. } => "disjoint_ports",
                    NoRule::UnknownVector { .. } => "unknown_vector",
                };
                // Same shape as a guardrail refusal: an object named by its `guardrail` field.
                let mut g = serde_json::to_value(&e).unwrap_or(Value::Null);
                if let Some(o) = g.as_object_mut() {
                    o.remove("reason");
                    o.insert("guardrail".into(), Value::from(name));
                }
                return Err(ApiError::new(422, format!("refused: {e}")).with("guardrail", g));
            }
        };
        let scope = (input.victim_ip, input.vector);
        let cfg = &policy.config;
        let window = cfg.timers.correlation_window_seconds * 1000;
        let attack = self.attacks.entry(scope).or_insert((now, now));
        if now.saturating_sub(attack.1) > window {
            *attack = (now, now);
        }
        attack.1 = now;
        let attack_started = attack.0;
        // Correlation with what is active for this scope.
        let related: Vec<(String, Relation)> = self
            .by_scope
            .get(&scope)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| {
                        self.active.get(id).map(|m| (id.clone(), port_relation(&m.dst_ports, &spec.dst_ports)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let refuse = |ev: &mut Event, r: Refusal| {
            ev.status = "rejected".into();
            ApiError::new(422, format!("refused by guardrail: {r}"))
                .with("guardrail", serde_json::to_value(&r).unwrap_or(Value::Null))
        };
        if let Some((id, _)) = related.iter().find(|(_, r)| *r == Relation::Subset) {
            return self.extend(id, input, ev, None, now, actor);
        }
        if let Some((id, _)) = related.iter().find(|(_, r)| *r == Relation::Overlap) {
            let Some(m) = self.active.get(id) else { return Err(ApiError::new(500, "index out of step")) };
            let mut union = m.dst_ports.clone();
            union.extend(spec.dst_ports.iter().copied());
            union.sort_unstable();
            union.dedup();
            if union.len() > cfg.guardrails.max_ports {
                return Err(refuse(ev, Refusal::TooManyPorts { ports: union.len(), max: cfg.guardrails.max_ports }));
            }
            return self.extend(id, input, ev, Some(union), now, actor);
        }
        // A new mitigation (beside disjoint ones, or replacing those it covers).
        if self.quiet.get(&scope).is_some_and(|t| now < t + cfg.timers.quiet_period_seconds * 1000) {
            ev.status = "accepted_no_mitigation".into();
            return Ok((Some("quiet_period"), None));
        }
        let Some(step) = playbook.steps.first() else {
            ev.status = "accepted_no_playbook".into();
            return Ok((Some("playbook_has_no_steps"), None));
        };
        let ttl = input.ttl_seconds.unwrap_or(step.ttl_seconds);
        let replaced: Vec<String> =
            related.iter().filter(|(_, r)| *r == Relation::Superset).map(|(id, _)| id.clone()).collect();
        // Replaced mitigations free their quota slots.
        let held: Vec<Mitigation> = replaced.iter().filter_map(|id| self.unindex(id)).collect();
        let guard = self.guard(&spec, ttl, Some(&customer_id), now);
        for m in &held {
            self.index(m.clone());
        }
        if let Err(r) = guard {
            return Err(refuse(ev, r));
        }
        let action = step.action();
        let built = spec.rule(action).map_err(|e| e.to_string()).and_then(|rule| {
            let route = Route::flowspec(&rule).map_err(|e| e.to_string())?;
            Ok((rule, route))
        });
        let (rule, route) = match built {
            Ok(b) => b,
            Err(e) => {
                ev.status = "rejected".into();
                return Err(ApiError::new(422, format!("refused: the rule does not encode: {e}")));
            }
        };
        if let Some((other, _)) = self.desired.get(&route.nlri) {
            // The same rule is already wanted (an operator's manual mitigation): it stays the
            // operator's, and this event makes no second claim on the rule.
            ev.status = "accepted_no_mitigation".into();
            ev.mitigation_id = Some(other.clone());
            return Ok((Some("covered_by_manual_mitigation"), None));
        }
        let started = held.iter().map(|m| m.attack_started_at).min().unwrap_or(now).min(attack_started);
        let id = new_id();
        for old in &replaced {
            self.end(old, MitigationStatus::Withdrawn, &format!("{REPLACED_BY}{id}"), actor, now, false);
        }
        let prefix = format!("{}/{}", input.victim_ip, if input.victim_ip.is_ipv6() { 128 } else { 32 });
        let m = Mitigation {
            mitigation_id: id.clone(),
            scope_hash: hash_hex(&[
                prefix.as_bytes(),
                &[spec.vector.protocol(spec.victim.is_ipv6()).unwrap_or(0)],
                format!("{:?}{:?}", spec.vector, spec.dst_ports).as_bytes(),
            ]),
            status: MitigationStatus::Active,
            customer_id: Some(customer_id),
            service_id,
            pop: cfg.pop.clone(),
            victim_ip: input.victim_ip,
            vector: input.vector,
            action_type: if matches!(action, MitigationAction::Discard) {
                ActionType::Discard
            } else {
                ActionType::Police
            },
            rate_bps: match action {
                MitigationAction::Police { rate_bps } => Some(rate_bps),
                MitigationAction::Discard => None,
            },
            dst_prefix: prefix,
            protocol: spec.vector.protocol(spec.victim.is_ipv6()),
            dst_ports: spec.dst_ports.clone(),
            rule: rule.to_string(),
            nlri: hex(route.nlri.bytes()),
            playbook: playbook.name.clone(),
            step: 0,
            created_at: now,
            updated_at: now,
            expires_at: now + ttl * 1000,
            withdrawn_at: None,
            attack_started_at: started,
            escalated_at: None,
            triggering_event_id: Some(ev.event_id.clone()),
            last_event_id: Some(ev.event_id.clone()),
            event_count: 1,
            reason: None,
        };
        self.new_times.push_back(now);
        self.shared.metrics.mitigations_created.get_or_create(&Self::action_pop(&m)).inc();
        self.audit(actor, "mitigation_created", ("mitigation", &id), json!({"rule": m.rule, "replaced": replaced}));
        self.writes.push(Write::Mitigation(Box::new(m.clone())));
        let rule_text = m.rule.clone();
        self.activate(m, route);
        ev.status = "accepted".into();
        ev.mitigation_id = Some(id);
        Ok((None, Some(rule_text)))
    }

    /// A repeat: extend the TTL, maybe widen the ports, escalate or de-escalate.
    fn extend(
        &mut self,
        id: &str,
        input: &EventInput,
        ev: &mut Event,
        ports: Option<Vec<u16>>,
        now: Millis,
        actor: &Actor,
    ) -> Result<(Option<&'static str>, Option<String>), ApiError> {
        let policy = self.shared.policy();
        let cfg = &policy.config;
        let Some(mut m) = self.active.get(id).map(|m| (**m).clone()) else {
            return Err(ApiError::new(500, "index out of step"));
        };
        let playbook = policy.playbooks.playbooks.iter().find(|p| p.name == m.playbook);
        let mut status = "extended";
        let old_route = route_of(&m).ok();
        let g = &cfg.guardrails;
        let refuse = |ev: &mut Event, r: Refusal| {
            ev.status = "rejected".into();
            ApiError::new(422, format!("refused by guardrail: {r}"))
                .with("guardrail", serde_json::to_value(&r).unwrap_or(Value::Null))
        };
        // A victim safelisted since the mitigation started is not extended (adding it to the
        // safelist withdrew the mitigation; this covers entries from a reload).
        if self.safelist_entries(now).iter().any(|e| e.prefix.contains(m.victim_ip)) {
            return Err(refuse(ev, Refusal::Safelisted { victim: m.victim_ip }));
        }
        // Audit records written below are taken back if the TTL guardrail refuses.
        let mark = (self.writes.len(), self.audit_seq);
        let conf = input.confidence;
        let strict = policy
            .inventory
            .lookup(m.victim_ip)
            .and_then(|o| o.customer.policy_profile.as_deref())
            .is_some_and(|p| p == "strict");
        if m.status == MitigationStatus::Escalated && conf.is_some_and(|c| c < cfg.escalation.min_confidence) {
            // The detector is no longer sure: back to the first step.
            self.deescalate(&mut m, now, actor, "confidence fell below escalation.min_confidence");
        } else if let Some(next) = playbook.and_then(|p| p.steps.get(m.step + 1)) {
            // Escalation: the next step, when the attack has lasted and the detector is sure; never
            // for customers with policy_profile "strict", nor while the kill switch is on.
            let lasted = now.saturating_sub(m.attack_started_at) / 1000;
            let need_persist = next.require_persistence_seconds.unwrap_or(cfg.escalation.min_persistence_seconds);
            let need_conf = next.require_confidence_at_least.unwrap_or(cfg.escalation.min_confidence);
            let c = conf.unwrap_or(0.0);
            if cfg.escalation.enabled && !strict && !g.kill_switch && lasted >= need_persist && c >= need_conf {
                let from = m.action_type;
                m.step += 1;
                self.set_step(&mut m, next, now);
                m.status = MitigationStatus::Escalated;
                m.escalated_at = Some(now);
                status = "escalated";
                let to = Self::action_pop(&m);
                let from_name = if from == ActionType::Police { "police" } else { "discard" };
                let l = crate::metrics::Escalation {
                    from_action: from_name.into(),
                    to_action: to.action_type,
                    pop: to.pop,
                };
                self.shared.metrics.escalations.get_or_create(&l).inc();
                self.audit(
                    actor,
                    "mitigation_escalated",
                    ("mitigation", id),
                    json!({"from": from, "to": m.action_type, "step": m.step, "persisted_seconds": lasted, "confidence": c}),
                );
            }
        }
        let step_ttl =
            playbook.and_then(|p| p.steps.get(m.step)).map_or(cfg.timers.default_ttl_seconds, |s| s.ttl_seconds);
        let ttl = input.ttl_seconds.unwrap_or(step_ttl);
        if ttl < g.min_ttl_seconds || ttl > g.max_ttl_seconds {
            self.writes.truncate(mark.0);
            self.audit_seq = mark.1;
            return Err(refuse(ev, Refusal::Ttl { ttl, min: g.min_ttl_seconds, max: g.max_ttl_seconds }));
        }
        if let Some(p) = ports {
            // Widened to both events' ports, unless that makes a new rule while the kill switch
            // is on, or the very rule another mitigation (an operator's) already has: then the
            // rule stays as it is and only its time is extended.
            let mut wider = m.clone();
            wider.dst_ports = p;
            let taken = route_of(&wider).ok().is_some_and(|r| self.desired.get(&r.nlri).is_some_and(|(o, _)| o != id));
            if !taken && !g.kill_switch {
                m.dst_ports = wider.dst_ports;
            }
        }
        m.expires_at = m.expires_at.max(now + ttl * 1000);
        m.updated_at = now;
        m.last_event_id = Some(ev.event_id.clone());
        m.event_count += 1;
        if let Ok(r) = route_of(&m) {
            m.rule = MatchSpec { victim: m.victim_ip, vector: m.vector, dst_ports: m.dst_ports.clone() }
                .rule(action_of(&m))
                .map(|r| r.to_string())
                .unwrap_or_default();
            m.nlri = hex(r.nlri.bytes());
            if old_route.as_ref() != Some(&r) {
                if let Some(o) = old_route.filter(|o| o.nlri != r.nlri) {
                    self.routes.insert(o.nlri, None);
                }
                self.routes.insert(r.nlri.clone(), Some(r));
            }
        }
        self.writes.push(Write::Mitigation(Box::new(m.clone())));
        let rule = m.rule.clone();
        self.replace_active(m);
        ev.status = status.into();
        ev.mitigation_id = Some(id.to_string());
        Ok((None, Some(rule)))
    }

    fn set_step(&self, m: &mut Mitigation, step: &crate::playbook::Step, now: Millis) {
        match step.action() {
            MitigationAction::Police { rate_bps } => {
                m.action_type = ActionType::Police;
                m.rate_bps = Some(rate_bps);
            }
            MitigationAction::Discard => {
                m.action_type = ActionType::Discard;
                m.rate_bps = None;
            }
        }
        m.expires_at = m.expires_at.max(now + step.ttl_seconds * 1000);
    }

    fn deescalate(&mut self, m: &mut Mitigation, now: Millis, actor: &Actor, why: &str) {
        let policy = self.shared.policy();
        let Some(first) =
            policy.playbooks.playbooks.iter().find(|p| p.name == m.playbook).and_then(|p| p.steps.first())
        else {
            // Its playbook is gone: no first step to return to. It stays as it is, no longer
            // counted as escalated (so the tick does not come back to it every second).
            m.status = MitigationStatus::Active;
            m.escalated_at = None;
            m.updated_at = now;
            self.audit(
                actor,
                "mitigation_deescalated",
                ("mitigation", &m.mitigation_id.clone()),
                json!({"why": why, "playbook_gone": true}),
            );
            return;
        };
        let from = m.action_type;
        m.step = 0;
        self.set_step(m, first, now);
        m.status = MitigationStatus::Active;
        m.escalated_at = None;
        m.updated_at = now;
        let to = Self::action_pop(m);
        let from_name = if from == ActionType::Police { "police" } else { "discard" };
        let l = crate::metrics::Escalation { from_action: from_name.into(), to_action: to.action_type, pop: to.pop };
        self.shared.metrics.deescalations.get_or_create(&l).inc();
        m.rule = MatchSpec { victim: m.victim_ip, vector: m.vector, dst_ports: m.dst_ports.clone() }
            .rule(action_of(m))
            .map(|r| r.to_string())
            .unwrap_or_default();
        self.audit(
            actor,
            "mitigation_deescalated",
            ("mitigation", &m.mitigation_id.clone()),
            json!({"from": from, "to": m.action_type, "why": why}),
        );
    }

    fn create(&mut self, input: ManualInput, actor: &Actor) -> Result<Mitigation, ApiError> {
        let now = now_ms();
        if input.reason.len() > crate::model::MAX_TEXT {
            return Err(ApiError::bad_request("reason is too long"));
        }
        if input.victim_ip.is_unspecified() || input.victim_ip.is_multicast() {
            return Err(ApiError::bad_request(format!("victim_ip {} is not a unicast address", input.victim_ip)));
        }
        let vector = match input.protocol.as_str() {
            "udp" => Vector::UdpFlood,
            "tcp" => Vector::TcpFlood,
            "icmp" => Vector::IcmpFlood,
            other => {
                return Err(ApiError::bad_request(format!(
                    "protocol {other:?}: one of udp, tcp, icmp (a rule matching all traffic to the victim is refused)"
                )))
            }
        };
        let action = match input.action {
            ActionType::Police => match input.rate_bps {
                Some(r) if r > 0 => MitigationAction::Police { rate_bps: r },
                _ => return Err(ApiError::bad_request("police needs rate_bps above 0")),
            },
            ActionType::Discard => MitigationAction::Discard,
        };
        let mut ports = input.dst_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        let spec = MatchSpec {
            victim: input.victim_ip,
            vector,
            dst_ports: if vector == Vector::IcmpFlood { Vec::new() } else { ports },
        };
        let policy = self.shared.policy();
        let owner = policy.inventory.lookup(input.victim_ip);
        let customer = owner.map(|o| o.customer.customer_id.clone());
        let rule = spec.rule(action).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let route = Route::flowspec(&rule).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if let Some((id, _)) = self.desired.get(&route.nlri) {
            return Err(ApiError::conflict("a mitigation with this match is active").with("mitigation_id", id.clone()));
        }
        if let Err(r) = self.guard(&spec, input.ttl_seconds, customer.as_deref(), now) {
            return Err(ApiError::new(422, format!("refused by guardrail: {r}"))
                .with("guardrail", serde_json::to_value(&r).unwrap_or(Value::Null)));
        }
        let id = new_id();
        let prefix = format!("{}/{}", input.victim_ip, if input.victim_ip.is_ipv6() { 128 } else { 32 });
        let m = Mitigation {
            mitigation_id: id.clone(),
            scope_hash: hash_hex(&[prefix.as_bytes(), format!("{:?}{:?}", vector, spec.dst_ports).as_bytes()]),
            status: MitigationStatus::Active,
            customer_id: customer,
            service_id: owner.and_then(|o| o.service.map(|s| s.service_id.clone())),
            pop: policy.config.pop.clone(),
            victim_ip: input.victim_ip,
            vector,
            action_type: input.action,
            rate_bps: match action {
                MitigationAction::Police { rate_bps } => Some(rate_bps),
                MitigationAction::Discard => None,
            },
            dst_prefix: prefix,
            protocol: vector.protocol(input.victim_ip.is_ipv6()),
            dst_ports: spec.dst_ports.clone(),
            rule: rule.to_string(),
            nlri: hex(route.nlri.bytes()),
            playbook: MANUAL.into(),
            step: 0,
            created_at: now,
            updated_at: now,
            expires_at: now + input.ttl_seconds * 1000,
            withdrawn_at: None,
            attack_started_at: now,
            escalated_at: None,
            triggering_event_id: None,
            last_event_id: None,
            event_count: 0,
            reason: Some(input.reason.clone()),
        };
        self.new_times.push_back(now);
        self.shared.metrics.mitigations_created.get_or_create(&Self::action_pop(&m)).inc();
        self.audit(
            actor,
            "mitigation_created",
            ("mitigation", &id),
            json!({"rule": m.rule, "manual": true, "reason": input.reason}),
        );
        self.writes.push(Write::Mitigation(Box::new(m.clone())));
        self.activate(m.clone(), route);
        Ok(m)
    }

    fn withdraw(&mut self, id: &str, reason: &str, actor: &Actor) -> Result<Mitigation, ApiError> {
        if reason.len() > crate::model::MAX_TEXT {
            return Err(ApiError::bad_request("reason is too long"));
        }
        if !self.active.contains_key(id) {
            return Err(ApiError::conflict("mitigation is not active (or does not exist)").with("mitigation_id", id));
        }
        self.end(id, MitigationStatus::Withdrawn, reason, actor, now_ms(), true)
            .ok_or_else(|| ApiError::new(500, "index out of step"))
    }

    fn bulk_withdraw(&mut self, b: &BulkWithdraw, actor: &Actor) -> Value {
        let now = now_ms();
        let mut ids: Vec<String> = b.mitigation_ids.clone();
        for m in self.active.values() {
            if b.victim_ip.is_some_and(|v| v == m.victim_ip)
                || b.customer_id.as_ref().is_some_and(|c| m.customer_id.as_ref() == Some(c))
            {
                ids.push(m.mitigation_id.clone());
            }
        }
        ids.sort();
        ids.dedup();
        let (mut done, mut not_active) = (Vec::new(), Vec::new());
        for id in ids {
            match self.end(&id, MitigationStatus::Withdrawn, &b.reason, actor, now, true) {
                Some(_) => done.push(id),
                None => not_active.push(id),
            }
        }
        json!({"withdrawn": done, "not_active": not_active})
    }

    /// TTL expiry, de-escalation, old quiet periods.
    fn tick(&mut self, now: Millis) {
        let policy = self.shared.policy();
        let expired: Vec<String> =
            self.active.values().filter(|m| m.expires_at <= now).map(|m| m.mitigation_id.clone()).collect();
        let system = Actor::system();
        for id in expired {
            self.end(&id, MitigationStatus::Expired, "ttl expired", &system, now, false);
        }
        let max = policy.config.escalation.max_escalated_duration_seconds * 1000;
        let due: Vec<String> = self
            .active
            .values()
            .filter(|m| m.escalated_at.is_some_and(|t| t + max <= now))
            .map(|m| m.mitigation_id.clone())
            .collect();
        for id in due {
            if let Some(mut m) = self.active.get(&id).map(|m| (**m).clone()) {
                let old = route_of(&m).ok();
                self.deescalate(&mut m, now, &system, "max_escalated_duration_seconds reached");
                if let Ok(r) = route_of(&m) {
                    if old.as_ref() != Some(&r) {
                        self.routes.insert(r.nlri.clone(), Some(r));
                    }
                }
                self.writes.push(Write::Mitigation(Box::new(m.clone())));
                self.replace_active(m);
            }
        }
        let quiet = policy.config.timers.quiet_period_seconds * 1000;
        self.quiet.retain(|_, t| *t + quiet > now);
        let window = policy.config.timers.correlation_window_seconds * 1000;
        self.attacks.retain(|_, (_, last)| now.saturating_sub(*last) <= window);
    }

    fn peer_event(&mut self, e: &speaker::Event) -> bool {
        match e {
            speaker::Event::StateChanged { peer, to, .. } => {
                let up = i64::from(*to == bgp_core::fsm::State::Established);
                self.shared
                    .metrics
                    .bgp_session_up
                    .get_or_create(&crate::metrics::Peer { peer: peer.to_string() })
                    .set(up);
                self.shared.peers.lock().unwrap_or_else(|p| p.into_inner()).insert(*peer, format!("{to:?}"));
                false
            }
            speaker::Event::PeerUp { peer, negotiated } => {
                info!(%peer, "peer up");
                let families: Vec<String> = negotiated.families.iter().map(ToString::to_string).collect();
                self.audit(&Actor::system(), "peer_up", ("peer", &peer.to_string()), json!({"families": families}));
                true
            }
            speaker::Event::PeerDown { peer, reason } => {
                warn!(%peer, ?reason, "peer down");
                self.audit(
                    &Actor::system(),
                    "peer_down",
                    ("peer", &peer.to_string()),
                    json!({"reason": format!("{reason:?}")}),
                );
                false
            }
            _ => false,
        }
    }

    /// Desired set against the Loc-RIB and every Established peer's Adj-RIB-Out.
    async fn reconcile(&mut self) -> ReconcileReport {
        let mut report = ReconcileReport {
            at: now_ms(),
            desired: self.active.len(),
            dry_run: !self.enforced(),
            ..Default::default()
        };
        let Some(speaker) = self.speaker.clone().filter(|_| self.failed.is_none()) else {
            self.record(report.clone());
            return report;
        };
        if !self.enforced() {
            self.record(report.clone());
            return report;
        }
        let desired = &self.desired;
        let rib: HashMap<Nlri, Route> = speaker.local_rib().into_iter().map(|r| (r.nlri.clone(), r)).collect();
        let (mut ann, mut wd) = (Vec::new(), Vec::new());
        for (n, (_, r)) in desired {
            match rib.get(n) {
                None => {
                    report.announced += 1;
                    ann.push(r.clone());
                }
                Some(have) if have.attributes != r.attributes => {
                    report.replaced += 1;
                    ann.push(r.clone());
                }
                Some(_) => {}
            }
        }
        for n in rib.keys() {
            if !desired.contains_key(n) {
                report.withdrawn += 1;
                wd.push(n.clone());
            }
        }
        speaker.withdraw(wd);
        speaker.announce(ann);
        // Each peer's Adj-RIB-Out: the queries queue behind the changes above, so they see them.
        for peer in speaker.peers() {
            let Some(status) = speaker.peer_status(peer).await else { continue };
            if status.state != bgp_core::fsm::State::Established {
                continue;
            }
            report.peers += 1;
            let families = status.negotiated.as_ref().map(|n| n.families.clone()).unwrap_or_default();
            let (mut ann, mut wd) = (Vec::new(), Vec::new());
            for family in [Family::IPV4_FLOWSPEC, Family::IPV6_FLOWSPEC] {
                if !families.contains(&family) {
                    continue;
                }
                let Some(out) = speaker.adj_rib_out(peer, family).await else { continue };
                let out: HashMap<Nlri, Route> = out.into_iter().map(|r| (r.nlri.clone(), r)).collect();
                for (n, (_, r)) in desired.iter().filter(|(n, _)| n.family() == family) {
                    match out.get(n) {
                        Some(have) if have.attributes == r.attributes => {}
                        Some(_) => {
                            report.replaced += 1;
                            ann.push(r.clone());
                        }
                        None => {
                            report.announced += 1;
                            ann.push(r.clone());
                        }
                    }
                }
                for n in out.keys() {
                    if !desired.contains_key(n) {
                        report.withdrawn += 1;
                        wd.push(n.clone());
                    }
                }
            }
            // Re-sending to the Loc-RIB reaches every peer; routes it already has are no-ops there.
            speaker.withdraw(wd);
            speaker.announce(ann);
        }
        if report.announced + report.withdrawn + report.replaced > 0 {
            warn!(?report, "reconciliation repaired drift");
        }
        self.record(report.clone());
        report
    }

    fn record(&self, r: ReconcileReport) {
        let m = &self.shared.metrics;
        let drift = r.announced + r.withdrawn + r.replaced;
        let status = if r.dry_run {
            "dry_run"
        } else if drift > 0 {
            "repaired"
        } else {
            "in_sync"
        };
        m.reconciliation_runs.get_or_create(&crate::metrics::Status { status: status.into() }).inc();
        for (kind, n) in [("announced", r.announced), ("withdrawn", r.withdrawn), ("replaced", r.replaced)] {
            if n > 0 {
                m.reconciliation_drift.get_or_create(&crate::metrics::Kind { kind: kind.into() }).inc_by(n as u64);
            }
        }
        let pop = self.shared.policy().config.pop.clone();
        m.reconciliation_active
            .get_or_create(&crate::metrics::Pop { pop })
            .set(i64::try_from(r.desired).unwrap_or(i64::MAX));
        *self.shared.last_reconcile.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_relations() {
        assert_eq!(port_relation(&[53, 80], &[53]), Relation::Subset);
        assert_eq!(port_relation(&[], &[53]), Relation::Subset);
        assert_eq!(port_relation(&[53], &[53, 80]), Relation::Superset);
        assert_eq!(port_relation(&[53], &[]), Relation::Superset);
        assert_eq!(port_relation(&[53, 80], &[80, 443]), Relation::Overlap);
        assert_eq!(port_relation(&[53], &[80]), Relation::Disjoint);
        assert_eq!(port_relation(&[], &[]), Relation::Subset);
    }
}
