//! Router resolution against a 100-route table (a REST-ish app: static pages, `{id}`
//! resources, a few `{name:regex}` routes and a static-file prefix).
//! Run: `cargo bench -p sansweb-core --bench router`.
//!
//! On a loaded machine wall-clock figures drift; for instruction counts run one case
//! in a plain loop under callgrind (`ROUTER_CASE=<name> ROUTER_ITERS=<n>`, then subtract
//! an `ROUTER_ITERS=0` run and divide by n):
//! `ROUTER_CASE=static ROUTER_ITERS=100000 valgrind --tool=callgrind target/release/deps/router-*`

use std::hint::black_box;

use criterion::{criterion_group, Criterion};
use http::Method;
use sansweb_core::server::router::{Resolution, Router};

fn table() -> Router {
    let mut r = Router::new();
    let mut n = 0;
    // 30 resources × (list, item, item's sub-collection) = 90 routes.
    for i in 0..30 {
        r.route(Method::GET, &format!("/api/v1/res{i}"))
            .expect("ok");
        r.route(Method::GET, &format!("/api/v1/res{i}/{{id}}"))
            .expect("ok");
        r.route(
            Method::GET,
            &format!("/api/v1/res{i}/{{id}}/items/{{item}}"),
        )
        .expect("ok");
        n += 3;
    }
    for i in 0..6 {
        r.route(Method::GET, &format!("/num{i}/{{id:\\d+}}"))
            .expect("ok");
        n += 1;
    }
    r.route(Method::GET, "/files/{name}.{ext}").expect("ok");
    r.route(Method::GET, "/").expect("ok");
    r.route(Method::POST, "/login").expect("ok");
    let res = r.add_prefix("/static", None).expect("ok");
    r.add_route(res, Method::GET).expect("ok");
    n += 4;
    assert_eq!(n, 100);
    r
}

const CASES: [(&str, &str); 7] = [
    ("static", "/api/v1/res17"),
    ("segment_param", "/api/v1/res17/12345"),
    ("two_params", "/api/v1/res29/abc/items/42"),
    ("regex_param", "/num5/12345"),
    ("percent_encoded", "/api/v1/res3/ren%C3%A9"),
    ("prefix", "/static/css/site.css"),
    ("not_found", "/api/v2/nothing/here"),
];

fn bench(c: &mut Criterion) {
    let router = table();
    let mut group = c.benchmark_group("router_100_routes");
    for (name, path) in CASES {
        // Sanity: the table answers what the case name says.
        let found = router.resolve(&Method::GET, path);
        assert_eq!(name == "not_found", found == Resolution::NotFound, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| black_box(router.resolve(black_box(&Method::GET), black_box(path))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    let iters = std::env::var("ROUTER_ITERS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    let case = std::env::var("ROUTER_CASE").ok();
    if let (Some(iters), Some(case)) = (iters, case) {
        let router = table();
        let (_, path) = CASES
            .into_iter()
            .find(|(name, _)| *name == case)
            .expect("ROUTER_CASE names a case");
        for _ in 0..iters {
            black_box(router.resolve(black_box(&Method::GET), black_box(path)));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
