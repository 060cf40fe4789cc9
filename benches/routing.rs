//! Per-request routing costs: key selection (1 and 50 keys) and the config snapshot check.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ringway::config::snapshot::{CoreView, Publisher};
use ringway::routing::keys::{EmptyModels, KeyEntry, KeyRing, weight_units};

fn ring(n: usize) -> KeyRing {
    let keys = (0..n)
        .map(|i| KeyEntry {
            id: format!("id-{i}"),
            name: format!("key-{i}"),
            value: format!("sk-{i:040}"),
            models: if i % 3 == 0 {
                vec!["*".into()]
            } else {
                vec!["gpt-4o".into(), "gpt-4o-mini".into()]
            },
            blacklisted_models: vec![],
            weight_units: weight_units(1.0 + (i % 4) as f64),
            enabled: i % 7 != 6,
            only_model: None,
            deployed_models: vec![],
        })
        .collect();
    KeyRing::new(keys, EmptyModels::Deny, false)
}

fn key_selection(c: &mut Criterion) {
    for n in [1usize, 50] {
        let r = ring(n);
        c.bench_function(&format!("key_select/{n}_keys"), |b| {
            b.iter(|| r.select(black_box("gpt-4o-mini"), None, &[]))
        });
    }
}

fn snapshot_check(c: &mut Criterion) {
    let publisher = Arc::new(Publisher::new(Arc::new(42u64)));
    let view = CoreView::new(Arc::clone(&publisher));
    c.bench_function("config_snapshot/unchanged", |b| {
        b.iter(|| **view.current() + 1)
    });
}

criterion_group!(benches, key_selection, snapshot_check);
criterion_main!(benches);
