//! The engine's decisions without BGP: correlation of overlapping events, escalation and
//! de-escalation, the quiet period, the correlation window, the per-peer quota, manual
//! mitigations and bulk withdraw.

use std::sync::Arc;

use prefixd::config::Config;
use prefixd::engine::{BulkWithdraw, EventOutcome, Handle, Request};
use prefixd::error::ApiError;
use prefixd::model::{Actor, EventInput, Mitigation};
use serde_json::json;

fn start(name: &str, edit: impl FnOnce(&mut prefixd::config::Loaded)) -> (Handle, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("prefixd-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut loaded = Config::embedded();
    loaded.config.guardrails.min_ttl_seconds = 1;
    loaded.inventory = toml::from_str(
        r#"
        [[customers]]
        customer_id = "c1"
        prefixes = ["203.0.113.0/24", "2001:db8::/32"]
        "#,
    )
    .unwrap();
    loaded.playbooks = toml::from_str(
        r#"
        [[playbooks]]
        name = "udp"
        match = { vector = "udp_flood" }
        steps = [{ action = "police", rate_bps = 8000000, ttl_seconds = 60 },
                 { action = "discard", ttl_seconds = 60, require_confidence_at_least = 0.8, require_persistence_seconds = 0 }]
        "#,
    )
    .unwrap();
    edit(&mut loaded);
    let store = prefixd::store::Store::open(&dir.join("p.redb")).unwrap();
    let (h, _task) = prefixd::engine::start(store, Arc::new(loaded), None, None).unwrap();
    (h, dir)
}

async fn event(
    h: &Handle,
    victim: &str,
    ports: &[u16],
    id: &str,
    extra: serde_json::Value,
) -> Result<EventOutcome, ApiError> {
    let mut v = json!({"timestamp": "2026-11-25T10:00:00Z", "source": "t", "victim_ip": victim,
                       "vector": "udp_flood", "top_dst_ports": ports, "event_id": id});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    let input: EventInput = serde_json::from_value(v).unwrap();
    h.call(|r| Request::Event(Box::new(input), Actor::system(), r)).await
}

fn mitigation(h: &Handle, id: &str) -> Mitigation {
    h.store.read().unwrap().mitigation(id).unwrap().unwrap()
}

#[tokio::test]
async fn correlation_superset_subset_overlap_disjoint() {
    let (h, dir) = start("corr", |_| {});
    let a = event(&h, "203.0.113.1", &[53, 80], "a", json!({})).await.unwrap();
    assert_eq!(a.status, "accepted");
    let a_id = a.mitigation_id.clone().unwrap();
    // Subset: the same mitigation, extended.
    let b = event(&h, "203.0.113.1", &[53], "b", json!({})).await.unwrap();
    assert_eq!((b.status.as_str(), b.mitigation_id.as_deref()), ("extended", Some(a_id.as_str())));
    // Overlap: extended to the union of the ports.
    let c = event(&h, "203.0.113.1", &[80, 443], "c", json!({})).await.unwrap();
    assert_eq!((c.status.as_str(), c.mitigation_id.as_deref()), ("extended", Some(a_id.as_str())));
    assert_eq!(mitigation(&h, &a_id).dst_ports, vec![53, 80, 443]);
    assert_eq!(c.rule.as_deref(), Some("dst 203.0.113.1/32 proto =17 dport =53|=80|=443 then rate-bytes 1000000"));
    // Disjoint: a second mitigation beside it.
    let d = event(&h, "203.0.113.1", &[123], "d", json!({})).await.unwrap();
    assert_eq!(d.status, "accepted");
    assert_ne!(d.mitigation_id.as_deref(), Some(a_id.as_str()));
    // Superset of both (every port): a new one that replaces them.
    let e = event(&h, "203.0.113.1", &[], "e", json!({})).await.unwrap();
    assert_eq!(e.status, "accepted");
    assert_eq!(mitigation(&h, &a_id).status.as_str(), "withdrawn");
    assert_eq!(mitigation(&h, d.mitigation_id.as_deref().unwrap()).status.as_str(), "withdrawn");
    assert!(mitigation(&h, &a_id).reason.unwrap().starts_with("replaced by"));
    assert_eq!(h.shared.active.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The unban of an event whose mitigation was replaced ends the one that replaced it.
    let un = event(&h, "203.0.113.1", &[], "a", json!({"action": "unban"})).await.unwrap();
    assert_eq!((un.status.as_str(), un.mitigation_id.as_deref()), ("withdrawn", e.mitigation_id.as_deref()));
    assert_eq!(h.shared.active.load(std::sync::atomic::Ordering::Relaxed), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn escalation_then_deescalation_and_duplicates() {
    let (h, dir) = start("esc", |l| l.config.escalation.min_persistence_seconds = 0);
    let a = event(&h, "203.0.113.2", &[53], "a", json!({"confidence": 0.5})).await.unwrap();
    let id = a.mitigation_id.unwrap();
    // Not confident enough: extended, still police.
    let b = event(&h, "203.0.113.2", &[53], "b", json!({"confidence": 0.75})).await.unwrap();
    assert_eq!(b.status, "extended");
    // Confident: escalated to discard.
    let c = event(&h, "203.0.113.2", &[53], "c", json!({"confidence": 0.9})).await.unwrap();
    assert_eq!(c.status, "escalated");
    assert_eq!(c.rule.as_deref(), Some("dst 203.0.113.2/32 proto =17 dport =53 then discard"));
    assert_eq!(mitigation(&h, &id).status.as_str(), "escalated");
    // Confidence falls: back to police.
    let d = event(&h, "203.0.113.2", &[53], "d", json!({"confidence": 0.2})).await.unwrap();
    assert_eq!(d.status, "extended");
    assert_eq!(d.rule.as_deref(), Some("dst 203.0.113.2/32 proto =17 dport =53 then rate-bytes 1000000"));
    assert_eq!(mitigation(&h, &id).status.as_str(), "active");
    // A repeated (source, event_id) is a 409 and changes nothing.
    let e = event(&h, "203.0.113.2", &[53], "d", json!({})).await.unwrap_err();
    assert_eq!(e.status, 409);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn quiet_period_window_per_peer_quota_manual_and_bulk() {
    let (h, dir) = start("quiet", |l| {
        l.config.quotas.max_announcements_per_peer = 2;
        l.config.quotas.max_active_per_customer = 100;
    });
    // Unban, then the quiet period.
    let a = event(&h, "203.0.113.3", &[53], "a", json!({})).await.unwrap();
    let un = event(&h, "203.0.113.3", &[53], "a", json!({"action": "unban"})).await.unwrap();
    assert_eq!((un.status.as_str(), un.mitigation_id.clone()), ("withdrawn", a.mitigation_id));
    let again = event(&h, "203.0.113.3", &[53], "a2", json!({})).await.unwrap();
    assert_eq!((again.status.as_str(), again.reason.as_deref()), ("accepted_no_mitigation", Some("quiet_period")));
    let missing = event(&h, "203.0.113.3", &[53], "zzz", json!({"action": "unban"})).await.unwrap();
    assert_eq!(missing.status, "not_found");
    let noid: EventInput = serde_json::from_value(json!({"timestamp": "2026-11-25T10:00:00Z", "source": "t",
        "victim_ip": "203.0.113.3", "vector": "udp_flood", "action": "unban"}))
    .unwrap();
    let noid = h.call(|r| Request::Event(Box::new(noid), Actor::system(), r)).await.unwrap();
    assert_eq!(noid.status, "ignored_no_event_id");
    // Per-peer quota: two IPv4 rules, the third is refused; IPv6 has its own count.
    event(&h, "203.0.113.4", &[53], "p1", json!({})).await.unwrap();
    event(&h, "203.0.113.5", &[53], "p2", json!({})).await.unwrap();
    let refused = event(&h, "203.0.113.6", &[53], "p3", json!({})).await.unwrap_err();
    assert_eq!(refused.status, 422);
    assert_eq!(refused.extra["guardrail"]["scope"], "per_peer", "{refused:?}");
    event(&h, "2001:db8::6", &[53], "p4", json!({})).await.unwrap();
    // Unknown address: accepted, no mitigation.
    let other = event(&h, "192.0.2.1", &[53], "o", json!({})).await.unwrap();
    assert_eq!((other.status.as_str(), other.reason.as_deref()), ("accepted_no_mitigation", Some("not_in_inventory")));
    // Bulk withdraw by victim and by id.
    let b: BulkWithdraw = serde_json::from_value(json!({"victim_ip": "203.0.113.4", "reason": "done"})).unwrap();
    let v = h.call(|r| Request::BulkWithdraw(b, Actor::system(), r)).await.unwrap();
    assert_eq!(v["withdrawn"].as_array().unwrap().len(), 1, "{v}");
    // Manual mitigation now fits, and a second with the same match is a conflict.
    let manual: prefixd::engine::ManualInput = serde_json::from_value(json!({"reason": "by hand",
        "victim_ip": "203.0.113.9", "protocol": "tcp", "dst_ports": [22], "action": "discard", "ttl_seconds": 60}))
    .unwrap();
    let m = h.call(|r| Request::Create(Box::new(manual.clone()), Actor::system(), r)).await.unwrap();
    assert_eq!(m.rule, "dst 203.0.113.9/32 proto =6 dport =22 then discard");
    let dup = h.call(|r| Request::Create(Box::new(manual), Actor::system(), r)).await.unwrap_err();
    assert_eq!(dup.status, 409);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn safelist_withdraws_refused_ids_stay_free_strict_never_escalates_manual_stands_alone() {
    let (h, dir) = start("safe", |l| {
        l.config.escalation.min_persistence_seconds = 0;
        l.inventory = toml::from_str(
            r#"
            [[customers]]
            customer_id = "c1"
            prefixes = ["203.0.113.0/24"]
            [[customers]]
            customer_id = "strict"
            policy_profile = "strict"
            prefixes = ["198.51.100.0/24"]
            "#,
        )
        .unwrap();
    });
    // Adding a safelist entry withdraws what is active under it.
    let a = event(&h, "203.0.113.7", &[53], "a", json!({})).await.unwrap();
    let rec = prefixd::model::SafelistRecord {
        prefix: "203.0.113.0/28".into(),
        added_at: 0,
        added_by: "t".into(),
        reason: None,
        expires_at: None,
    };
    h.call(|r| Request::SafelistAdd(rec, Actor::system(), r)).await.unwrap();
    let m = mitigation(&h, a.mitigation_id.as_deref().unwrap());
    assert_eq!((m.status.as_str(), m.reason.as_deref()), ("withdrawn", Some("safelisted 203.0.113.0/28")));
    // A refused event does not take its id: the same id goes through once the refusal is lifted.
    let e = event(&h, "203.0.113.8", &[53], "retry", json!({})).await.unwrap_err();
    assert_eq!(e.status, 422);
    h.call(|r| Request::SafelistRemove("203.0.113.0/28".into(), Actor::system(), r)).await.unwrap();
    let ok = event(&h, "203.0.113.8", &[53], "retry", json!({})).await.unwrap();
    assert_eq!(ok.status, "accepted");
    // policy_profile "strict": confident, persistent, never escalated.
    event(&h, "198.51.100.1", &[53], "s1", json!({})).await.unwrap();
    let s2 = event(&h, "198.51.100.1", &[53], "s2", json!({"confidence": 1.0})).await.unwrap();
    assert_eq!(s2.status, "extended");
    // A manual mitigation is not extended or replaced by detector events.
    let manual: prefixd::engine::ManualInput = serde_json::from_value(json!({"reason": "by hand",
        "victim_ip": "203.0.113.9", "protocol": "udp", "dst_ports": [53], "action": "discard", "ttl_seconds": 60}))
    .unwrap();
    let m = h.call(|r| Request::Create(Box::new(manual), Actor::system(), r)).await.unwrap();
    let ev = event(&h, "203.0.113.9", &[123], "x", json!({})).await.unwrap();
    assert_eq!(ev.status, "accepted");
    assert_ne!(ev.mitigation_id.as_deref(), Some(m.mitigation_id.as_str()));
    assert_eq!(mitigation(&h, &m.mitigation_id).status.as_str(), "active");
    // An event whose rule is exactly the manual one's: no second claim on the rule.
    let same = event(&h, "203.0.113.9", &[53], "y", json!({})).await.unwrap();
    assert_eq!(
        (same.status.as_str(), same.reason.as_deref(), same.mitigation_id.as_deref()),
        ("accepted_no_mitigation", Some("covered_by_manual_mitigation"), Some(m.mitigation_id.as_str()))
    );
    // ... and its unban does not end the operator's mitigation.
    let un = event(&h, "203.0.113.9", &[53], "y", json!({"action": "unban"})).await.unwrap();
    assert_eq!((un.status.as_str(), un.reason.as_deref()), ("no_active_mitigation", Some("manual_mitigation_kept")));
    assert_eq!(mitigation(&h, &m.mitigation_id).status.as_str(), "active");
    // An overlap whose union would be exactly an operator's rule: the detector's mitigation is
    // extended in time but keeps its ports, and the operator's rule stays the operator's.
    let manual: prefixd::engine::ManualInput = serde_json::from_value(json!({"reason": "by hand",
        "victim_ip": "203.0.113.10", "protocol": "udp", "dst_ports": [53, 80, 443], "action": "discard", "ttl_seconds": 60}))
    .unwrap();
    let op = h.call(|r| Request::Create(Box::new(manual), Actor::system(), r)).await.unwrap();
    let auto = event(&h, "203.0.113.10", &[53, 80], "o1", json!({})).await.unwrap();
    let auto_id = auto.mitigation_id.clone().unwrap();
    let over = event(&h, "203.0.113.10", &[80, 443], "o2", json!({})).await.unwrap();
    assert_eq!((over.status.as_str(), over.mitigation_id.as_deref()), ("extended", Some(auto_id.as_str())));
    assert_eq!(mitigation(&h, &auto_id).dst_ports, vec![53, 80]);
    assert_eq!(mitigation(&h, &op.mitigation_id).status.as_str(), "active");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_failed_commit_is_forgotten_and_a_failed_store_changes_nothing() {
    use std::sync::atomic::Ordering;
    let (h, dir) = start("fail", |_| {});
    event(&h, "203.0.113.1", &[53], "a", json!({})).await.unwrap();
    // One commit fails: its event is answered 500 and forgotten (the engine reloads the store),
    // so the detector's retry is accepted, not a duplicate.
    h.store.inject_commit_failures(1);
    assert_eq!(event(&h, "203.0.113.2", &[53], "b", json!({})).await.unwrap_err().status, 500);
    // The reload comes before the engine's next request; wait for it (bounded).
    for _ in 0..100 {
        if h.shared.active.load(Ordering::Relaxed) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(h.shared.active.load(Ordering::Relaxed), 1);
    assert_eq!(event(&h, "203.0.113.2", &[53], "b", json!({})).await.unwrap().status, "accepted");
    // A policy change whose audit record fails to commit does not stay in force.
    let mut next = (*h.shared.policy()).clone();
    next.config.guardrails.kill_switch = true;
    h.store.inject_commit_failures(1);
    let e = h.call(|r| Request::SetPolicy(Arc::new(next), "config_reloaded", Actor::system(), r)).await.unwrap_err();
    assert_eq!(e.status, 500);
    assert!(!h.shared.policy().config.guardrails.kill_switch);
    // (Its reload is done before the next request is decided.)
    event(&h, "203.0.113.3", &[53], "c", json!({})).await.unwrap();
    assert_eq!(h.shared.active.load(Ordering::Relaxed), 3);
    assert!(h.shared.store_failed.lock().unwrap().is_none());

    // The store fails for good (redb refuses every commit after an I/O error): the engine does
    // not read it as empty and withdraw everything; it refuses every change with 503.
    h.store.inject_commit_failures(u64::MAX);
    assert_eq!(event(&h, "203.0.113.4", &[53], "d", json!({})).await.unwrap_err().status, 500);
    let e = event(&h, "203.0.113.5", &[53], "e", json!({})).await.unwrap_err();
    assert_eq!(e.status, 503, "{e:?}");
    assert!(h.shared.store_failed.lock().unwrap().as_deref().is_some_and(|w| w.contains("injected")));
    // a, b and c stay wanted (and d, decided before its commit failed, until a restart reads
    // the store again); nothing expires or is withdrawn meanwhile.
    assert_eq!(h.shared.active.load(Ordering::Relaxed), 4);
    let all = h.store.read().unwrap().all_mitigations().unwrap();
    assert_eq!(all.iter().filter(|m| m.status.is_active()).count(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}
