//! The config store across restarts: admin writes persist, an unchanged `config.json` keeps them,
//! a changed section of `config.json` re-seeds that section only, and the store serves alone
//! when `config.json` is gone; a process killed in the middle of admin writes restarts on a
//! whole config, never a mix.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Gateway, Mock, api, chat, recorded_auth, temp_dir};
use serde_json::{Value, json};

fn stop(mut gw: Gateway) {
    assert!(
        gw.terminate(Duration::from_secs(10)).is_some(),
        "did not exit"
    );
}

fn write_config(app: &Path, cfg: &Value) {
    std::fs::write(
        app.join("config.json"),
        serde_json::to_vec_pretty(cfg).unwrap(),
    )
    .unwrap();
}

fn auth_for(gw: &Gateway, mock: &Mock, model: &str) -> String {
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat(model, "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    recorded_auth(&mock.requests()[0]).unwrap()
}

fn provider(mock: &Mock, key: &str) -> Value {
    json!({
        "keys": [{"name": "main", "value": key, "models": ["*"], "weight": 1.0}],
        "network_config": {"base_url": mock.url()}
    })
}

fn key_id(gw: &Gateway, provider: &str) -> String {
    api(gw, "GET", &format!("/api/providers/{provider}/keys"), None).json()["keys"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

struct AppDir(PathBuf);

impl Drop for AppDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn admin_writes_survive_a_restart() {
    let mock = Mock::start(&[]);
    let app = AppDir(temp_dir("admin-store-restart"));
    write_config(
        &app.0,
        &json!({"providers": {
            "openai": provider(&mock, "sk-file-openai-000000"),
            "groq": provider(&mock, "gsk-file-groq-000000")
        }}),
    );
    let gw = Gateway::start_app(&app.0);
    assert!(
        gw.logs()
            .contains("seeded from config.json: providers/groq, providers/openai"),
        "{}",
        gw.logs()
    );
    let id = key_id(&gw, "openai");
    let rotated = api(
        &gw,
        "PUT",
        &format!("/api/providers/openai/keys/{id}"),
        Some(
            &json!({"name": "main", "value": "sk-admin-rotated-111111", "models": ["*"], "weight": 1.0}),
        ),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    assert_eq!(api(&gw, "DELETE", "/api/providers/groq", None).status, 200);
    let created = api(
        &gw,
        "POST",
        "/api/providers",
        Some(
            &json!({"provider": "mistral", "keys": [{"value": "mk-created-2222222", "models": ["*"]}],
                     "network_config": {"base_url": mock.url()}}),
        ),
    );
    assert_eq!(created.status, 200, "{}", created.text());
    let proxy = api(
        &gw,
        "PUT",
        "/api/proxy-config",
        Some(
            &json!({"enabled": false, "type": "http", "url": "http://10.0.0.9:3128", "password": "pw-123"}),
        ),
    );
    assert_eq!(proxy.status, 200);
    let mut client = api(&gw, "GET", "/api/config", None).json()["client_config"].clone();
    client["drop_excess_requests"] = json!(true);
    assert_eq!(
        api(
            &gw,
            "PUT",
            "/api/config",
            Some(&json!({"client_config": client}))
        )
        .status,
        200
    );
    let before = api(&gw, "GET", "/api/providers", None).json();
    stop(gw);

    // Same config.json: every admin write is still there, the deletion included.
    let gw = Gateway::start_app(&app.0);
    assert_eq!(api(&gw, "GET", "/api/providers", None).json(), before);
    assert_eq!(api(&gw, "GET", "/api/providers/groq", None).status, 404);
    assert_eq!(
        auth_for(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-admin-rotated-111111"
    );
    assert_eq!(
        auth_for(&gw, &mock, "mistral/small"),
        "Bearer mk-created-2222222"
    );
    let cfg = api(&gw, "GET", "/api/config", None).json();
    assert_eq!(cfg["client_config"]["drop_excess_requests"], true);
    assert_eq!(cfg["proxy_config"]["url"], "http://10.0.0.9:3128");
    assert_eq!(cfg["proxy_config"]["password"], "<redacted>");
    assert_eq!(
        cfg["restart_required"]["required"], false,
        "cleared by the restart"
    );
    stop(gw);

    // No config.json at all: the store alone is served.
    std::fs::remove_file(app.0.join("config.json")).unwrap();
    let gw = Gateway::start_app(&app.0);
    assert_eq!(api(&gw, "GET", "/api/providers", None).json(), before);
    assert_eq!(
        auth_for(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-admin-rotated-111111"
    );
}

#[test]
fn a_changed_config_json_section_reseeds_only_that_section() {
    let mock = Mock::start(&[]);
    let app = AppDir(temp_dir("admin-store-reseed"));
    let mut cfg = json!({
        "client": {"max_request_body_size_mb": 50},
        "providers": {
            "openai": provider(&mock, "sk-file-openai-000000"),
            "groq": provider(&mock, "gsk-file-groq-000000"),
            "mistral": provider(&mock, "mk-file-mistral-00000")
        },
        "config_store": {"enabled": true, "type": "sqlite", "config": {"path": "./config.db"}}
    });
    write_config(&app.0, &cfg);
    let gw = Gateway::start_app(&app.0);
    assert!(gw.logs().contains("embedded LMDB"), "{}", gw.logs());
    let hash_before = api(&gw, "GET", "/api/providers/groq", None).json()["config_hash"].clone();
    // Admin edits to openai and groq.
    for (p, key) in [
        ("openai", "sk-admin-openai-111111"),
        ("groq", "gsk-admin-groq-111111"),
    ] {
        let id = key_id(&gw, p);
        let r = api(
            &gw,
            "PUT",
            &format!("/api/providers/{p}/keys/{id}"),
            Some(&json!({"name": "main", "value": key, "models": ["*"], "weight": 1.0})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    stop(gw);

    // The file changes groq's key and drops mistral; openai and client are untouched.
    cfg["providers"]["groq"] = provider(&mock, "gsk-file-groq-NEW-999");
    cfg["providers"].as_object_mut().unwrap().remove("mistral");
    write_config(&app.0, &cfg);
    let gw = Gateway::start_app(&app.0);
    let logs = gw.logs();
    assert!(
        logs.contains("seeded from config.json: providers/groq"),
        "{logs}"
    );
    assert!(
        logs.contains("removed (no longer in config.json): providers/mistral"),
        "{logs}"
    );
    assert_eq!(
        auth_for(&gw, &mock, "groq/llama"),
        "Bearer gsk-file-groq-NEW-999"
    );
    assert_eq!(
        auth_for(&gw, &mock, "openai/gpt-4o"),
        "Bearer sk-admin-openai-111111"
    );
    assert_eq!(api(&gw, "GET", "/api/providers/mistral", None).status, 404);
    let groq = api(&gw, "GET", "/api/providers/groq", None).json();
    assert_ne!(
        groq["config_hash"], hash_before,
        "the hash follows the file"
    );
    assert_eq!(
        api(&gw, "GET", "/api/config", None).json()["client_config"]["max_request_body_size_mb"],
        50
    );
}

/// The generation a provider config carries in both its key (last 4 characters, which the
/// redacted form still shows) and its `x-gen` header: the two agree in a whole config.
fn generation_of(p: &Value) -> (u32, u32) {
    let v = &p["keys"][0]["value"];
    let key = v["value"].as_str().or(v.as_str()).unwrap();
    let from_key = key[key.len() - 4..].parse().unwrap();
    let from_header = p["network_config"]["extra_headers"]["x-gen"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (from_key, from_header)
}

#[test]
fn a_kill_during_admin_writes_restarts_on_a_whole_config() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let mock = Mock::start(&[]);
    let app = AppDir(temp_dir("admin-store-crash"));
    let mut first = provider(&mock, "sk-generation-pad-0000");
    first["network_config"]["extra_headers"] = json!({"x-gen": "0000"});
    write_config(&app.0, &json!({"providers": {"openai": first}}));
    let mut gw = Gateway::start_app(&app.0);
    let template = api(&gw, "GET", "/api/providers/openai", None).json();
    assert_eq!(generation_of(&template), (0, 0));

    // One writer replaces the whole provider as fast as the store commits; the process is
    // killed while it writes.
    let acked = Arc::new(AtomicU32::new(0));
    let writer = {
        let acked = Arc::clone(&acked);
        let addr = gw.addr;
        let mut body = template.clone();
        std::thread::spawn(move || {
            for n in 1..=10_000u32 {
                body["keys"][0]["value"] = json!(format!("sk-generation-pad-{n:04}"));
                body["network_config"]["extra_headers"] = json!({"x-gen": format!("{n:04}")});
                let b = body.to_string().into_bytes();
                let h = [("content-type", "application/json")];
                let r = std::panic::catch_unwind(|| {
                    common::http::request(addr, "PUT", "/api/providers/openai", &h, &b)
                });
                match r {
                    Ok(r) if r.status == 200 => acked.store(n, Ordering::SeqCst),
                    _ => return,
                }
            }
        })
    };
    assert!(
        common::wait_until(Duration::from_secs(30), || acked.load(Ordering::SeqCst)
            >= 25),
        "admin writes did not go through"
    );
    gw.kill();
    let _ = writer.join();
    let last_acked = acked.load(Ordering::SeqCst);

    // The store opens, and holds one whole generation: every acknowledged write, plus at most
    // the one in flight at the kill.
    let gw = Gateway::start_app(&app.0);
    let p = api(&gw, "GET", "/api/providers/openai", None).json();
    let (from_key, from_header) = generation_of(&p);
    assert_eq!(from_key, from_header, "a mixed config after the kill: {p}");
    assert!(
        from_key == last_acked || from_key == last_acked + 1,
        "acknowledged {last_acked}, found {from_key}"
    );
    // And that generation is what is served.
    mock.clear();
    let r = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = &mock.requests()[0];
    assert_eq!(
        recorded_auth(rec).unwrap(),
        format!("Bearer sk-generation-pad-{from_key:04}")
    );
    assert_eq!(
        common::recorded_headers(rec, "x-gen"),
        vec![format!("{from_key:04}")]
    );
}
