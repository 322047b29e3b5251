//! The OpenAPI document (`GET /openapi.json`, generated with utoipa from the handlers) against the
//! served API: every documented operation is served (no 404 "no such route", no 405), and the
//! document lists exactly the routes the router serves (`prefixd::api::ROUTES`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use prefixd::api::{router, AppState, ROUTES};
use prefixd::config::Config;
use serde_json::Value;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_and_router_agree() {
    let dir = std::env::temp_dir().join(format!("prefixd-openapi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = prefixd::store::Store::open(&dir.join("p.redb")).unwrap();
    let loaded = Config::embedded();
    let cfg = loaded.config.clone();
    let (engine, _task) = prefixd::engine::start(store, Arc::new(loaded), None, None).unwrap();
    let app = router(AppState::new(engine, None, None, &cfg), &cfg);

    let resp = app.clone().oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, served, "the document and the router's route list differ");

    for (method, path) in &documented {
        let concrete =
            path.replace("{id}", "no-such-id").replace("{prefix}", "192.0.2.0/24").replace("{ip}", "203.0.113.1");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&concrete)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        assert_ne!(status, 405, "{method} {path}: not served");
        if status == 404 && !path.contains('{') {
            panic!("{method} {path}: 404");
        }
        if status == 404 {
            // A 404 for an unknown id is the handler's, not the router's.
            if !concrete.starts_with("/v1/events") {
                let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_ne!(v["error"], "no such route", "{method} {path}: not served");
            }
        }
    }
    // And a path nobody documented is not served.
    let resp = app.clone().oneshot(Request::get("/v1/undocumented").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // Schemas of the main bodies are there.
    for s in ["EventInput", "EventOutcome", "Mitigation", "ErrorBody", "ManualInput", "Playbooks"] {
        assert!(doc["components"]["schemas"][s].is_object(), "schema {s} missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
