//! The web surface: headers, CSRF, health probes, cookies, sign-out, redirects, bad input.

use crate::helpers::{spawn_app, spawn_app_with, spawn_app_with_site};
use axum::body::Body;
use axum::http::Request;
use backend::demo::{DEMO_PASSWORD, READY_USERNAME};

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));
}

#[tokio::test]
async fn pages_carry_a_strict_csp_whose_nonce_is_on_every_script() {
    let app = spawn_app().await;
    let page = app.get("/signin", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'nonce-",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let scripts = page.body.matches("<script").count();
    assert!(scripts > 0, "the page loads the app with scripts");
    assert_eq!(
        page.body.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "{}",
        page.body
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    assert_eq!(page.headers["cross-origin-opener-policy"], "same-origin");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers.get("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    // A new nonce per response.
    let again = app.get("/signin", None).await;
    assert_ne!(
        again.headers["content-security-policy"],
        page.headers["content-security-policy"]
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let req = Request::post("/api/auth/sign_in")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "localhost:3000")
            .header(header, value)
            .body(Body::from(format!(
                "login={READY_USERNAME}&password={DEMO_PASSWORD}"
            )))
            .unwrap();
        let reply = app.send(req).await;
        assert_eq!(reply.status, 403, "{header}: {value}");
        assert!(reply.headers.get("set-cookie").is_none());
    }
}

#[tokio::test]
async fn sign_in_sets_a_host_only_secure_http_only_cookie_and_sign_out_kills_the_session() {
    let app = spawn_app().await;
    let reply = app
        .call(
            "/api/auth/sign_in",
            &format!("login={READY_USERNAME}&password={DEMO_PASSWORD}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-mhc_session="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(token.len() >= 22, "at least 128 random bits");

    let me = app.call("/api/auth/me", "", Some(&token)).await;
    assert!(me.body.contains("Dara Dummett"), "{}", me.body);
    let results = app.get("/results", Some(&token)).await;
    assert_eq!(results.status, 200);
    assert!(
        results.body.contains("Hemoglobin A1c"),
        "the results page renders on the server"
    );

    let out = app.call("/api/auth/sign_out", "", Some(&token)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(
        out.headers["clear-site-data"]
            .to_str()
            .unwrap()
            .contains("\"cookies\"")
    );
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let me = app.call("/api/auth/me", "", Some(&token)).await;
    assert_eq!(me.body, "null", "the old session is dead");
    let after = app.call("/api/results/list", "", Some(&token)).await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn signed_out_page_loads_redirect_to_sign_in_without_health_data() {
    let app = spawn_app().await;
    for path in ["/home", "/results", "/messages"] {
        let page = app.get(path, None).await;
        assert_eq!(page.status, 302, "{path}: {}", page.body);
        assert_eq!(page.headers["location"], "/signin");
        assert!(!page.body.contains("Dara"));
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_status_and_body() {
    let app = spawn_app().await;
    let real = app
        .call(
            "/api/auth/sign_in",
            &format!("login={READY_USERNAME}&password=not-her-password"),
            None,
        )
        .await;
    let unknown = app
        .call(
            "/api/auth/sign_in",
            "login=nobody.here&password=not-her-password",
            None,
        )
        .await;
    assert_eq!(real.status, 401);
    assert_eq!((real.status, &real.body), (unknown.status, &unknown.body));
    assert!(
        real.body
            .contains("The username, email or password is not right")
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_never_a_5xx() {
    let app = spawn_app().await;
    let cases = [
        ("/api/auth/sign_in", ""),
        ("/api/auth/sign_in", "login=&password="),
        ("/api/auth/sign_in", "login=%FF%FE&password=x"),
        (
            "/api/activation/start",
            "first_name=&last_name=B&date_of_birth=1990-01-01&activation_code=x",
        ),
        (
            "/api/activation/start",
            "first_name=A&last_name=B&date_of_birth=31-12-1990&activation_code=ABCD-EFGH-JKMN",
        ),
        (
            "/api/activation/start",
            "first_name=A&last_name=B&date_of_birth=2999-01-01&activation_code=ABCD-EFGH-JKMN",
        ),
        ("/api/activation/account", "username=x"),
        ("/api/activation/confirm", "code=12"),
    ];
    for (path, body) in cases {
        let reply = app.call(path, body, None).await;
        assert!(
            (400..500).contains(&reply.status),
            "{path} {body:?}: {} {}",
            reply.status,
            reply.body
        );
        assert!(!reply.body.to_lowercase().contains("sql"), "{}", reply.body);
    }
    let dob = app
        .call(
            "/api/activation/start",
            "first_name=A&last_name=B&date_of_birth=31-12-1990&activation_code=ABCD-EFGH-JKMN",
            None,
        )
        .await;
    assert!(
        dob.body.contains("full date"),
        "the message says what to fix: {}",
        dob.body
    );
}

#[tokio::test]
async fn a_plain_html_form_post_gets_a_redirect_not_an_error_status() {
    let app = spawn_app().await;
    let req = Request::post("/api/auth/sign_in")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("referer", "http://localhost:3000/signin")
        .header("host", "localhost:3000")
        .header("origin", "http://localhost:3000")
        .body(Body::from("login=nobody&password=wrong-password"))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, 302);
    let location = reply.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://localhost:3000/signin?"),
        "{location}"
    );
    assert!(
        !location.contains("wrong-password"),
        "no secrets in URLs: {location}"
    );
}

#[tokio::test]
async fn signing_in_again_replaces_the_session_the_browser_had() {
    let app = spawn_app().await;
    let old = app.session_for(READY_USERNAME).await;
    let reply = app
        .call(
            "/api/auth/sign_in",
            &format!("login={READY_USERNAME}&password={DEMO_PASSWORD}"),
            Some(&old),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let new = reply.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(
        app.call("/api/auth/me", "", Some(&old)).await.body,
        "null",
        "the old id is dead"
    );
    assert!(
        app.call("/api/auth/me", "", Some(&new))
            .await
            .body
            .contains("Dara")
    );
}

#[tokio::test]
async fn an_idle_session_ends_after_fifteen_minutes_and_activity_keeps_it_alive() {
    let app = spawn_app().await;
    let token = app.session_for(READY_USERNAME).await;
    for _ in 0..3 {
        app.clock.advance(std::time::Duration::from_secs(10 * 60));
        assert_eq!(
            app.call("/api/results/list", "", Some(&token)).await.status,
            200
        );
    }
    app.clock.advance(std::time::Duration::from_secs(15 * 60));
    assert_eq!(
        app.call("/api/results/list", "", Some(&token)).await.status,
        401
    );
    assert_eq!(app.get("/results", Some(&token)).await.status, 302);
}

#[test]
fn the_client_address_is_taken_from_forwarded_for_only_behind_a_trusted_proxy() {
    use server::web::forwarded_client;
    let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let mut h = axum::http::HeaderMap::new();
    h.insert(
        "x-forwarded-for",
        "203.0.113.9, 198.51.100.7".parse().unwrap(),
    );
    // Not trusted: the header is ignored, the peer counts.
    assert_eq!(forwarded_client(proxy, &h, &[]), proxy);
    // Trusted: the right-most address the proxy saw; a client cannot spoof past it.
    assert_eq!(
        forwarded_client(proxy, &h, &[proxy]).to_string(),
        "198.51.100.7"
    );
    assert_eq!(
        forwarded_client(proxy, &axum::http::HeaderMap::new(), &[proxy]),
        proxy
    );
}

#[tokio::test]
async fn a_person_lists_their_sessions_and_signs_out_everywhere_else() {
    let app = spawn_app().await;
    let phone = app.session_for(READY_USERNAME).await;
    let laptop = app.session_for(READY_USERNAME).await;
    let list = app.call("/api/sessions/list", "", Some(&laptop)).await;
    assert_eq!(list.status, 200);
    let sessions: Vec<domain::session::SessionInfo> = serde_json::from_str(&list.body).unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    let ended = app
        .call("/api/sessions/end_others", "", Some(&laptop))
        .await;
    assert_eq!((ended.status, ended.body.as_str()), (200, "1"));
    assert_eq!(
        app.call("/api/results/list", "", Some(&phone)).await.status,
        401
    );
    assert_eq!(
        app.call("/api/results/list", "", Some(&laptop))
            .await
            .status,
        200
    );
    // The current session is ended with "Sign out", not from the list.
    let me = sessions.iter().find(|s| s.current).unwrap();
    let own = app
        .call("/api/sessions/end", &format!("id={}", me.id), Some(&laptop))
        .await;
    assert_eq!(own.status, 400);
}

/// A site folder as the release build leaves it: a content-hashed wasm with its brotli and
/// gzip copies, and an unhashed public file.
fn built_site() -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("mhc-site-{}", std::process::id()));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = "mhc.AbCdEfGhIjKlMnOpQrStUv.wasm";
    std::fs::write(pkg.join(wasm), vec![0u8; 4096]).unwrap();
    std::fs::write(pkg.join(format!("{wasm}.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join(format!("{wasm}.gz")), b"gzip bytes").unwrap();
    std::fs::write(
        root.join("icon.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .unwrap();
    root
}

async fn fetch(
    app: &crate::helpers::TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, usize) {
    let mut req = Request::get(path).header("host", "localhost:3000");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = app.send(req.body(Body::empty()).unwrap()).await;
    (r.status, r.headers, r.body.len())
}

#[tokio::test]
async fn hashed_build_files_are_cached_for_a_year_and_served_precompressed() {
    let root = built_site();
    let app = spawn_app_with_site(root.to_str().unwrap()).await;
    let path = "/pkg/mhc.AbCdEfGhIjKlMnOpQrStUv.wasm";
    let own = ("sec-fetch-site", "same-origin");
    let (status, h, len) =
        fetch(&app, path, &[("accept-encoding", "gzip, deflate, br"), own]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(
        len,
        b"brotli bytes".len(),
        "the brotli copy, not compressed again"
    );
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["vary"], "accept-encoding");
    assert_eq!(h["content-type"], "application/wasm");
    let (_, h, len) = fetch(&app, path, &[("accept-encoding", "gzip"), own]).await;
    assert_eq!((h["content-encoding"].to_str().unwrap(), len), ("gzip", 10));
    // Not asked for, or asked for by another site: the file as it is.
    let cross = ("sec-fetch-site", "cross-site");
    let (_, h, len) = fetch(&app, path, &[("accept-encoding", "br"), cross]).await;
    assert!(h.get("content-encoding").is_none());
    assert_eq!(len, 4096);
    let (_, h, len) = fetch(&app, path, &[]).await;
    assert!(h.get("content-encoding").is_none());
    assert_eq!(len, 4096);
    // A file whose name does not change with its content is revalidated.
    let (status, h, _) = fetch(&app, "/icon.svg", &[]).await;
    assert_eq!(
        (status, h["cache-control"].to_str().unwrap()),
        (200, "no-cache")
    );
    // A missing build file is not cached at all.
    let (status, h, _) = fetch(&app, "/pkg/mhc.ZZZZZZZZZZZZZZZZZZZZZZ.wasm", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(
        h["cache-control"], "no-store",
        "the not-found page is a page"
    );
    // A route whose address ends like a file is a page too.
    let (_, h, _) = fetch(&app, "/results/x.png", &[("accept-encoding", "br")]).await;
    assert_eq!(h["cache-control"], "no-store");
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn pages_are_compressed_only_for_requests_this_site_started() {
    let app = spawn_app().await;
    let own = [
        ("accept", "text/html"),
        ("accept-encoding", "br"),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, h, _) = fetch(&app, "/signin", &own).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["cache-control"], "no-store");
    let typed = [("accept-encoding", "br"), ("sec-fetch-site", "none")];
    assert_eq!(
        fetch(&app, "/signin", &typed).await.1["content-encoding"],
        "br"
    );
    // Another site's link or form: sent as is, so its length says nothing (BREACH).
    for site in [Some("cross-site"), Some("same-site"), None] {
        let mut headers = vec![("accept-encoding", "br")];
        if let Some(s) = site {
            headers.push(("sec-fetch-site", s));
        }
        let (status, h, _) = fetch(&app, "/signin", &headers).await;
        assert_eq!(status, 200);
        assert!(h.get("content-encoding").is_none(), "{site:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_beyond_the_hashing_queue_are_refused_at_once_with_retry_after() {
    let settings = backend::Settings {
        argon2_m_kib: 8192,
        argon2_t: 3,
        hash_concurrency: 1,
        hash_queue_wait: std::time::Duration::from_millis(300),
        ..backend::Settings::for_tests()
    };
    let app = spawn_app_with("target/site", settings).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..24 {
        let router = app.router.clone();
        calls.spawn(async move {
            use tower::ServiceExt;
            let form = format!("login=nobody.{i}&password=wrong-password-123");
            let req = crate::helpers::form_request("/api/auth/sign_in", &form, None);
            let started = std::time::Instant::now();
            let res = router.oneshot(req).await.unwrap();
            (
                res.status().as_u16(),
                res.headers().clone(),
                started.elapsed(),
            )
        });
    }
    let (mut busy, mut refused) = (0, 0);
    while let Some(r) = calls.join_next().await {
        let (status, headers, took) = r.unwrap();
        match status {
            503 => {
                busy += 1;
                assert_eq!(headers["retry-after"], "1");
            }
            401 => refused += 1,
            s => panic!("unexpected status {s}"),
        }
        assert!(
            took < std::time::Duration::from_secs(2),
            "answered in {took:?}"
        );
    }
    assert!(busy >= 1, "the queue turned some away");
    assert!(refused >= 1, "the hashing thread answered some");
}
