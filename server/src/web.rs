//! The HTTP surface: router, security headers with a CSP nonce, CSRF checks, health probes.

use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::Portal;
use leptos::nonce::Nonce;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

#[derive(Clone)]
pub struct WebState {
    pub portal: Portal,
    pub options: LeptosOptions,
    pub https: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Runs for every page render and server-function call: shares the portal and the nonce.
fn leptos_context(portal: Portal) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(portal.clone());
        if let Some(n) = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Nonce>().cloned())
        {
            provide_context(n);
        }
    }
}

pub fn router(state: WebState) -> Router {
    let options = state.options.clone();
    let routes = generate_route_list(App);
    let ctx = leptos_context(state.portal.clone());
    let shell_options = options.clone();
    let fallback_options = options.clone();
    let https = state.https;
    let trusted = Arc::new(state.trusted_proxies.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/download/immunizations.pdf",
            get(crate::downloads::immunizations),
        )
        .route("/download/summary.pdf", get(crate::downloads::summary))
        .route("/download/summary.xml", get(crate::downloads::summary_ccda))
        .route("/download/record.json", get(crate::downloads::record))
        .route("/fhir/import", axum::routing::post(crate::feed::import))
        .route(
            "/messages/send",
            axum::routing::post(crate::messages::patient_send).layer(
                axum::extract::DefaultBodyLimit::max(crate::messages::BODY_LIMIT),
            ),
        )
        .route(
            "/staff/messages/send",
            axum::routing::post(crate::messages::staff_send).layer(
                axum::extract::DefaultBodyLimit::max(crate::messages::BODY_LIMIT),
            ),
        )
        .route(
            "/messages/attachment/{id}",
            get(crate::messages::attachment_download),
        )
        .route("/calendar/{file}", get(crate::messages::calendar))
        .leptos_routes_with_context(&options, routes, ctx.clone(), move || {
            shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            ctx,
            move |_| shell(fallback_options.clone()),
        ))
        .with_state(options)
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn(csrf))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(middleware::from_fn(compress_same_site_only))
        .layer(middleware::from_fn(move |req, next| {
            security_headers(https, req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            client_ip(trusted.clone(), req, next)
        }))
        .layer(axum::Extension(Arc::new(state)))
}

/// Server-function errors raised before the function body runs (arguments that do not
/// deserialize) come out of the framework as 500; the error itself knows its real status.
async fn server_fn_status(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn readyz(axum::Extension(state): axum::Extension<Arc<WebState>>) -> Response {
    if state.portal.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Try again in a few minutes.",
    )
        .into_response()
}

/// Finds the client's address: the TCP peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
async fn client_ip(trusted: Arc<Vec<IpAddr>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer.map(|p| forwarded_client(p, req.headers(), &trusted)) {
        req.extensions_mut()
            .insert(backend::audit::ClientIp(ip.to_string()));
    }
    next.run(req).await
}

pub fn forwarded_client(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|h| !trusted.contains(h))
        .unwrap_or(peer)
}

/// State-changing requests must come from this site: `Sec-Fetch-Site` when the browser sends
/// it, else `Origin` against `Host`. Cross-site calls get 403.
async fn csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross = match site {
        Some(s) => !matches!(s, "same-origin" | "none"),
        None => match (
            h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            h.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => {
                origin.split_once("://").map(|(_, rest)| rest) != Some(host)
            }
            (Some(_), None) => true,
            (None, _) => false,
        },
    };
    if cross {
        return (
            StatusCode::FORBIDDEN,
            "Cross-site requests are not accepted.",
        )
            .into_response();
    }
    next.run(req).await
}

/// Answers are compressed only for requests this site started (or the person typed): a page
/// fetched at another site's bidding is sent uncompressed, so its length cannot be used to
/// guess what it holds (BREACH). Static files too: no other site has a reason to load them
/// (`Cross-Origin-Resource-Policy: same-origin`).
async fn compress_same_site_only(mut req: Request, next: Next) -> Response {
    let own = matches!(
        req.headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok()),
        Some("same-origin" | "none")
    );
    if !own {
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    next.run(req).await
}

/// Security headers on every response, and a fresh CSP nonce per request. The referrer is kept
/// same-origin only: forms without JavaScript need it to come back with their errors.
async fn security_headers(https: bool, mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let path = req.uri().path();
    let (is_static, hashed) = (
        crate::assets::is_static(path),
        crate::assets::is_hashed(path),
    );
    let mut res: Response<Body> = next.run(req).await;
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    let status = res.status();
    let h = res.headers_mut();
    // A response that set a stricter policy of its own (user files: `sandbox`) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&policy)
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // Pages and API answers may carry health information: never cached anywhere. A build file
    // named after its content never changes; other static files are revalidated.
    // What looked like a file by its address but is a page (a route, or the not-found page
    // under /pkg/) is a page.
    let page = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let is_static = is_static && !page;
    let unchanged = status.is_success() || status == StatusCode::NOT_MODIFIED;
    let cache = match (is_static, hashed && unchanged) {
        (true, true) => "public, max-age=31536000, immutable",
        (true, false) => "no-cache",
        _ => "no-store",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // At capacity (the password-hashing queue is full): the answer comes at once and says
    // when to try again.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        h.entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static("1"));
    }
    if is_static {
        // The same address answers brotli, gzip or plain by what the browser accepts.
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}
