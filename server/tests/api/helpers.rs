//! `spawn_app()`: the real router over a fresh database seeded with the demo fixtures.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use backend::notify::OutboxMailer;
use backend::storage::entity::{observation, proxy_grant, user_account, user_session};
use backend::{Portal, RequestMeta, Settings, TestClock, demo};
use domain::account::Email;
use domain::proxy::{Relationship, Scope};
use http_body_util::BodyExt;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use server::web::{WebState, router};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub portal: Portal,
    pub clock: Arc<TestClock>,
}

pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_site("target/site").await
}

/// The app serving its static files from `site_root`.
pub async fn spawn_app_with_site(site_root: &str) -> TestApp {
    spawn_app_with(site_root, Settings::for_tests()).await
}

/// The app with its static files in `site_root` and other settings.
pub async fn spawn_app_with(site_root: &str, settings: Settings) -> TestApp {
    let db = backend::storage::connect("sqlite::memory:").await.unwrap();
    backend::storage::migrate(&db).await.unwrap();
    let clock = Arc::new(TestClock::at(1_795_000_000_000));
    let mailer = Arc::new(OutboxMailer::new(db.clone(), clock.clone()));
    let portal = Portal::new(db, clock.clone(), settings, mailer);
    let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo"));
    demo::seed(&portal, fixtures).await.unwrap();
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("mhc")
        .site_root(site_root)
        .build();
    let router = router(WebState {
        portal: portal.clone(),
        options,
        https: false,
        trusted_proxies: vec![],
    });
    TestApp {
        router,
        portal,
        clock,
    }
}

/// A form POST to a server function as the browser's JavaScript client sends it.
pub fn form_request(path: &str, form: &str, session: Option<&str>) -> Request<Body> {
    let mut req = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("host", "localhost:3000")
        .header("origin", "http://localhost:3000");
    if let Some(token) = session {
        req = req.header(
            "cookie",
            format!("{}={token}", backend::auth::session::COOKIE),
        );
    }
    req.body(Body::from(form.to_owned())).unwrap()
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res: Response<Body> = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// POSTs a form to a server function as the browser's JavaScript client would.
    pub async fn call(&self, path: &str, form: &str, session: Option<&str>) -> Reply {
        self.send(form_request(path, form, session)).await
    }

    pub async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut req = Request::get(path)
            .header("host", "localhost:3000")
            .header("accept", "text/html,application/xhtml+xml");
        if let Some(token) = session {
            req = req.header(
                "cookie",
                format!("{}={token}", backend::auth::session::COOKIE),
            );
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn user_id(&self, username: &str) -> String {
        user_account::Entity::find()
            .filter(user_account::Column::Username.eq(username))
            .one(&self.portal.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {username}"))
            .id
    }

    /// A fresh session for a user, as after a successful sign-in.
    pub async fn session_for(&self, username: &str) -> String {
        let id = self.user_id(username).await;
        backend::auth::session::create(&self.portal.db, &self.portal, &id, None, None)
            .await
            .unwrap()
            .token
    }

    /// The patient `patient` invites `username` (a new caregiver account, created through
    /// the invitation link) with `scopes`; returns the grant's id.
    pub async fn caregiver(&self, patient: &str, username: &str, scopes: &[Scope]) -> String {
        let meta = RequestMeta::default();
        let token = self.session_for(patient).await;
        let p = self.portal.principal(Some(&token)).await.unwrap();
        let email = Email::parse(&format!("{username}@example.org")).unwrap();
        self.portal
            .invite_caregiver(&p, &email, Relationship::Child, scopes, 12, &meta)
            .await
            .unwrap();
        let mail = self.portal.outbox(1).await.unwrap();
        let link = mail[0].body.split('#').nth(1).unwrap();
        let invite: String = link.chars().take_while(|c| !c.is_whitespace()).collect();
        let dob = self
            .portal
            .patient_by_mrn(backend::demo::READY_MRN)
            .await
            .unwrap()
            .birth_date;
        self.portal
            .join_as_caregiver(
                &invite,
                "Kim",
                "Dummett",
                username,
                "Copper-Kettle-Winter-8812",
                "Copper-Kettle-Winter-8812",
                &dob,
                &meta,
            )
            .await
            .unwrap();
        let uid = self.user_id(username).await;
        proxy_grant::Entity::find()
            .filter(proxy_grant::Column::CaregiverUserId.eq(uid))
            .one(&self.portal.db)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// A new session of `username` acting through `grant` (whatever the grant's state).
    pub async fn acting_session(&self, username: &str, grant: &str) -> String {
        let token = self.session_for(username).await;
        let p = self.portal.principal(Some(&token)).await.unwrap();
        user_session::Entity::update_many()
            .col_expr(user_session::Column::ActingGrantId, Expr::value(grant))
            .filter(user_session::Column::Id.eq(p.session_id().unwrap()))
            .exec(&self.portal.db)
            .await
            .unwrap();
        token
    }

    /// Activates the patient with `mrn` through the real three steps; returns the username.
    pub async fn activate(&self, mrn: &str, username: &str) -> String {
        let meta = RequestMeta::default();
        let p = self.portal.patient_by_mrn(mrn).await.unwrap();
        let code = self
            .portal
            .issue_activation_code(&p.id, "test", &meta)
            .await
            .unwrap()
            .code;
        let ticket = self
            .portal
            .start_activation(
                &p.given_name,
                &p.family_name,
                &p.birth_date,
                code.as_str(),
                &meta,
            )
            .await
            .unwrap();
        self.portal
            .choose_account(
                &ticket,
                username,
                &format!("{username}@example.org"),
                "Quiet-Otter-Meadow-1964x",
                "Quiet-Otter-Meadow-1964x",
                &meta,
            )
            .await
            .unwrap();
        let mail = self.portal.outbox(1).await.unwrap();
        let body = &mail.last().unwrap().body;
        let code = body
            .split("Your confirmation code is ")
            .nth(1)
            .unwrap()
            .chars()
            .take(6)
            .collect::<String>();
        self.portal
            .confirm_email(&ticket, &code, &meta)
            .await
            .unwrap();
        username.to_owned()
    }

    /// Some released lab result of the patient with `mrn`.
    pub async fn a_result_of(&self, mrn: &str) -> String {
        let p = self.portal.patient_by_mrn(mrn).await.unwrap();
        observation::Entity::find()
            .filter(observation::Column::PatientId.eq(p.id))
            .filter(observation::Column::Category.eq("laboratory"))
            .one(&self.portal.db)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// A second clinic, with a clinician and a front desk of its own (usernames
    /// `ola.otherclinic` and `ari.otherdesk`); returns the clinic's id.
    pub async fn second_clinic(&self) -> String {
        use backend::staff::NewStaff;
        use backend::storage::entity::clinic;
        use sea_orm::{ActiveModelTrait, Set};
        let id = "clinic-two".to_owned();
        clinic::ActiveModel {
            id: Set(id.clone()),
            name: Set("Hillside Family Practice".into()),
            phone: Set(None),
            require_second_factor: Set(0),
            created_at: Set(self.portal.now()),
            time_zone: Set(Some("America/Denver".into())),
        }
        .insert(&self.portal.db)
        .await
        .unwrap();
        for (username, given, role) in [
            ("ola.otherclinic", "Ola", domain::session::Role::Clinician),
            ("ari.otherdesk", "Ari", domain::session::Role::FrontDesk),
        ] {
            self.portal
                .create_staff(
                    NewStaff {
                        username,
                        email: &format!("{username}@hillside.example.org"),
                        given_name: given,
                        family_name: "Hillside",
                        role,
                        password: "Copper-Kettle-Winter-8812",
                        clinic_id: Some(id.clone()),
                    },
                    "test",
                    &RequestMeta::default(),
                )
                .await
                .unwrap();
        }
        id
    }
}
