//! Who may touch which record. The only way to read a patient's data is a [`PatientAccess`]
//! handle, which this module hands out after checking the principal; record functions take it.

pub use crate::audit::RequestMeta;
use crate::audit::{Entry, Outcome};
use crate::{Error, Portal, Result};
use domain::proxy::Scope;
use domain::session::Role;

/// The caller, as established from the session. Its fields are private: only session
/// resolution in this crate ([`Portal::principal`]) makes one with rights, so no other crate
/// can claim to be a patient, a caregiver or staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Anonymous,
    /// A patient, a caregiver, or both: an account that may have a record of its own and
    /// may be acting for someone else's through a grant.
    Person {
        user_id: String,
        session_id: String,
        own_patient: Option<String>,
        acting: Acting,
    },
    Staff {
        user_id: String,
        role: Role,
        clinic_id: Option<String>,
        session_id: String,
    },
}

/// Whose record a person's session is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acting {
    /// Their own (or none, for a caregiver-only account).
    Myself,
    /// Someone else's, through a grant checked on this very request.
    For(Grant),
    /// The session was acting through a grant that has since ended (revoked, expired, the
    /// patient turned 18): refused. A person with a record of their own is put back on it
    /// (refused once, with that said); a caregiver-only session stays here, refused with an
    /// explanation on every request, until they choose another record.
    Ended,
}

/// A live grant, as checked at session resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub id: String,
    pub patient_id: String,
    pub scopes: Vec<Scope>,
    /// The patient is 12 to 17 and this is a parent's grant: sensitive rows are hidden.
    pub hide_sensitive: bool,
}

impl Principal {
    /// Nobody signed in: the only principal other crates can make themselves.
    pub fn anonymous() -> Self {
        Self {
            kind: Kind::Anonymous,
        }
    }
    pub fn is_anonymous(&self) -> bool {
        matches!(self.kind, Kind::Anonymous)
    }
    pub fn is_staff(&self) -> bool {
        matches!(self.kind, Kind::Staff { .. })
    }
    /// A patient or caregiver account (not staff, not anonymous).
    pub fn is_person(&self) -> bool {
        matches!(self.kind, Kind::Person { .. })
    }
    pub fn user_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Anonymous => None,
            Kind::Person { user_id, .. } | Kind::Staff { user_id, .. } => Some(user_id),
        }
    }
    pub fn session_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Anonymous => None,
            Kind::Person { session_id, .. } | Kind::Staff { session_id, .. } => Some(session_id),
        }
    }
    /// The account's own patient record, whatever record the session is on.
    pub fn patient_id(&self) -> Option<String> {
        match &self.kind {
            Kind::Person { own_patient, .. } => own_patient.clone(),
            _ => None,
        }
    }
    /// The grant this session acts through, when it is on someone else's record.
    pub fn acting_grant(&self) -> Option<&str> {
        match &self.kind {
            Kind::Person {
                acting: Acting::For(g),
                ..
            } => Some(&g.id),
            _ => None,
        }
    }
    /// On the person's own record with full rights: not acting for anyone.
    pub fn is_self(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Person {
                own_patient: Some(_),
                acting: Acting::Myself,
                ..
            }
        )
    }
    /// Whether the session is on a record at all: the patient's own, or one a live grant
    /// opens (not a caregiver-only account with nobody chosen, not an ended grant).
    pub fn has_record(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Person {
                own_patient: Some(_),
                acting: Acting::Myself,
                ..
            } | Kind::Person {
                acting: Acting::For(_),
                ..
            }
        )
    }
    /// Whether the session may use `scope` on the record it is on (a patient on their own
    /// record: always; a caregiver: when granted).
    pub fn may(&self, scope: Scope) -> bool {
        match &self.kind {
            Kind::Person {
                acting: Acting::For(g),
                ..
            } => g.scopes.contains(&scope),
            Kind::Person {
                own_patient: Some(_),
                acting: Acting::Myself,
                ..
            } => true,
            _ => false,
        }
    }
    pub fn role(&self) -> Option<Role> {
        match &self.kind {
            Kind::Anonymous => None,
            Kind::Person {
                own_patient: None, ..
            } => Some(Role::Caregiver),
            Kind::Person { .. } => Some(Role::Patient),
            Kind::Staff { role, .. } => Some(*role),
        }
    }
    pub fn clinic_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Staff { clinic_id, .. } => clinic_id.as_deref(),
            _ => None,
        }
    }
}

/// Proof that the holder may read one patient's record. Built only here.
#[derive(Debug, Clone)]
pub struct PatientAccess {
    patient_id: String,
    actor_user_id: String,
    /// Set when a caregiver acts for the patient: the patient acted for.
    on_behalf_of: Option<String>,
    /// The scope this handle was opened for; `None` is the patient's own whole record.
    scope: Option<Scope>,
    /// Every scope the holder has on this record (all of them for the patient).
    granted: Vec<Scope>,
    /// Rows marked sensitive are left out (a parent's grant for a 12 to 17 year old).
    hide_sensitive: bool,
    meta: RequestMeta,
    /// A handle whose reads are audited by its caller as one event (a download made of
    /// several lists), so the lists it reads do not each write a view entry.
    quiet: bool,
}

impl PatientAccess {
    /// The patient's own record, whole (`scope` `None`) or opened for one scope.
    fn own(patient_id: &str, user_id: &str, scope: Option<Scope>, meta: &RequestMeta) -> Self {
        Self {
            patient_id: patient_id.to_owned(),
            actor_user_id: user_id.to_owned(),
            on_behalf_of: None,
            scope,
            granted: Scope::ALL.to_vec(),
            hide_sensitive: false,
            meta: meta.clone(),
            quiet: false,
        }
    }

    /// A handle for the demo seed, which acts as the demo's people without a session: the
    /// patient on their own record, or a caregiver (`caregiver`) acting for them.
    pub(crate) fn for_seed(patient_id: &str, actor: &str, caregiver: bool, scope: Scope) -> Self {
        let mut a = Self::own(patient_id, actor, Some(scope), &RequestMeta::default());
        if caregiver {
            a.on_behalf_of = Some(patient_id.to_owned());
        }
        a
    }

    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }
    /// The account acting through this handle.
    pub fn actor(&self) -> &str {
        &self.actor_user_id
    }
    pub(crate) fn meta(&self) -> &RequestMeta {
        &self.meta
    }
    /// The patient acted for, when a caregiver holds this handle.
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.on_behalf_of.as_deref()
    }
    /// Whether a caregiver holds this handle (what they send or book says so).
    pub fn by_caregiver(&self) -> bool {
        self.on_behalf_of.is_some()
    }
    /// The scope the handle was opened for (`None`: the patient's own whole record).
    pub fn scope(&self) -> Option<Scope> {
        self.scope
    }
    /// Whether the holder may also see `scope` (a composite view's other parts).
    pub fn may(&self, scope: Scope) -> bool {
        self.granted.contains(&scope)
    }
    /// Whether rows marked sensitive must be left out of what this handle reads.
    pub fn hides_sensitive(&self) -> bool {
        self.hide_sensitive
    }
    /// The audit entry's common part: actor, on-behalf-of, patient.
    fn base(&self, action: &'static str, outcome: Outcome) -> Entry {
        let mut e = Entry::new(action, outcome)
            .actor(self.actor_user_id.clone())
            .patient(self.patient_id.clone());
        e.on_behalf_of = self.on_behalf_of.clone();
        e
    }

    /// An audit entry by the holder on this record, for a write that records it in its own
    /// transaction.
    pub fn entry(&self, action: &'static str, category: &'static str) -> Entry {
        self.base(action, Outcome::Ok).category(category)
    }

    /// The same access, for reads that the caller audits itself as one event.
    pub(crate) fn quiet(&self) -> Self {
        Self {
            quiet: true,
            ..self.clone()
        }
    }

    /// Records an access with a detail (what was downloaded or sent, and to whom).
    pub async fn audit_detail(
        &self,
        portal: &Portal,
        action: &'static str,
        category: &'static str,
        detail: &str,
    ) -> Result<()> {
        let e = self
            .base(action, Outcome::Ok)
            .category(category)
            .detail(detail);
        portal.record_audit(portal.now(), &self.meta, e).await
    }

    /// Records a refused attempt on `object` (someone else's, or missing) and gives the
    /// 404 to answer: the two are never told apart.
    pub async fn not_found(
        &self,
        portal: &Portal,
        action: &'static str,
        category: &'static str,
        object: &str,
    ) -> Result<Error> {
        self.audit(portal, action, category, Some(object), Outcome::Denied)
            .await?;
        Ok(Error::NotFound)
    }

    /// Records that this access touched `category` data (view, download…).
    pub async fn audit(
        &self,
        portal: &Portal,
        action: &'static str,
        category: &'static str,
        object_id: Option<&str>,
        outcome: Outcome,
    ) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut e = self.base(action, outcome).category(category);
        if let Some(o) = object_id {
            e = e.object(o);
        }
        portal.record_audit(portal.now(), &self.meta, e).await
    }
}

impl Portal {
    /// The signed-in patient's own record, for what only the patient may do (security,
    /// proxy management, release preferences, whole-record export, transmit). A caregiver
    /// acting for someone, staff and anonymous callers are refused.
    pub async fn own_record(&self, p: &Principal, meta: &RequestMeta) -> Result<PatientAccess> {
        match &p.kind {
            Kind::Person {
                user_id,
                own_patient: Some(patient_id),
                acting: Acting::Myself,
                ..
            } => Ok(PatientAccess::own(patient_id, user_id, None, meta)),
            Kind::Anonymous => Err(Error::Unauthenticated),
            _ => Err(self.deny(p, meta, "only the patient may do this").await?),
        }
    }

    /// The record the caller's session is on, for one scope: the patient's own, or the
    /// one a caregiver acts for when the grant (checked on this request) includes `scope`.
    pub async fn record(
        &self,
        p: &Principal,
        scope: Scope,
        meta: &RequestMeta,
    ) -> Result<PatientAccess> {
        match &p.kind {
            Kind::Anonymous => Err(Error::Unauthenticated),
            Kind::Person {
                user_id,
                own_patient: Some(patient_id),
                acting: Acting::Myself,
                ..
            } => Ok(PatientAccess::own(patient_id, user_id, Some(scope), meta)),
            Kind::Person {
                user_id,
                acting: Acting::For(g),
                ..
            } if g.scopes.contains(&scope) => Ok(PatientAccess {
                patient_id: g.patient_id.clone(),
                actor_user_id: user_id.clone(),
                on_behalf_of: Some(g.patient_id.clone()),
                scope: Some(scope),
                granted: g.scopes.clone(),
                hide_sensitive: g.hide_sensitive,
                meta: meta.clone(),
                quiet: false,
            }),
            Kind::Person {
                acting: Acting::For(g),
                user_id,
                ..
            } => {
                let mut e = Entry::new("access.denied", Outcome::Denied)
                    .actor(user_id.clone())
                    .patient(g.patient_id.clone())
                    .category(scope.as_str())
                    .detail(format!("scope not granted: {}", scope.as_str()));
                e.on_behalf_of = Some(g.patient_id.clone());
                self.record_audit(self.now(), meta, e).await?;
                Err(Error::Refused(format!(
                    "Your access to this record does not include {}. Ask the patient to add it.",
                    scope.label().to_lowercase()
                )))
            }
            Kind::Person {
                acting: Acting::Ended,
                own_patient,
                ..
            } => {
                self.deny(p, meta, "grant ended").await?;
                Err(Error::Refused(if own_patient.is_some() {
                    "Your access to that record has ended. You are back on your own record.".into()
                } else {
                    "Your access to that record has ended. Choose another on the Proxy access page."
                        .into()
                }))
            }
            Kind::Person {
                own_patient: None, ..
            } => Err(Error::Refused(
                "Choose whose record to open on the Proxy access page.".into(),
            )),
            Kind::Staff { .. } => Err(self.deny(p, meta, "patient-side function").await?),
        }
    }

    /// Audits a refusal and gives the 403 to answer.
    pub async fn deny(&self, p: &Principal, meta: &RequestMeta, why: &str) -> Result<Error> {
        self.record_audit(
            self.now(),
            meta,
            Entry::new("access.denied", Outcome::Denied)
                .actor(p.user_id().unwrap_or_default().to_owned())
                .detail(why.to_owned()),
        )
        .await?;
        Ok(Error::Forbidden)
    }

    /// The principal behind a session cookie; anonymous when there is none or it has ended.
    /// A session acting for someone has its grant checked here, on every request.
    pub async fn principal(&self, token: Option<&str>) -> Result<Principal> {
        let Some(token) = token else {
            return Ok(Principal::anonymous());
        };
        let (s, u) = match crate::auth::session::resolve(self, token).await {
            Ok(found) => found,
            Err(Error::Unauthenticated) => return Ok(Principal::anonymous()),
            Err(e) => return Err(e),
        };
        let role = Role::parse(&u.role).ok_or_else(|| Error::Unexpected("unknown role".into()))?;
        let kind = match role {
            Role::Patient | Role::Caregiver => {
                let acting = match &s.acting_grant_id {
                    None => Acting::Myself,
                    Some(grant_id) => match self.live_grant(grant_id, &u.id).await? {
                        Some(g) => Acting::For(g),
                        None => {
                            // Back to their own record when they have one. A caregiver with
                            // none stays on the ended grant until they choose another, so
                            // every request (not only the first) says why it is refused.
                            if role == Role::Patient {
                                crate::proxy::stop_acting(&self.db, &s.id).await?;
                            }
                            Acting::Ended
                        }
                    },
                };
                let own_patient = if role == Role::Patient {
                    u.patient_id
                } else {
                    None
                };
                if own_patient.is_none() && role == Role::Patient {
                    return Ok(Principal::anonymous());
                }
                Kind::Person {
                    user_id: u.id,
                    session_id: s.id,
                    own_patient,
                    acting,
                }
            }
            role => Kind::Staff {
                user_id: u.id,
                role,
                clinic_id: u.clinic_id,
                session_id: s.id,
            },
        };
        Ok(Principal { kind })
    }
}

/// Proof that the holder is signed-in staff of a clinic in one of the roles a workflow
/// allows. Clinic-side functions take it; it is built only by [`Portal::staff_access`].
#[derive(Debug, Clone)]
pub struct StaffAccess {
    user_id: String,
    role: Role,
    clinic_id: String,
    meta: RequestMeta,
}

impl StaffAccess {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn clinic_id(&self) -> &str {
        &self.clinic_id
    }
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }
    /// Refuses (403) a role the workflow is not for: every clinic-side function checks its
    /// own roles, whoever calls it.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
    /// An audit entry by this staff member.
    pub fn entry(&self, action: &'static str) -> Entry {
        Entry::new(action, Outcome::Ok).actor(self.user_id.clone())
    }
}

impl Portal {
    /// The caller as staff allowed to do `what`, which only `roles` may. Anyone else is
    /// refused (401 / 403), and a signed-in refusal is audited.
    pub async fn staff_access(
        &self,
        p: &Principal,
        roles: &[Role],
        what: &str,
        meta: &RequestMeta,
    ) -> Result<StaffAccess> {
        match &p.kind {
            Kind::Anonymous => Err(Error::Unauthenticated),
            Kind::Staff {
                user_id,
                role,
                clinic_id: Some(clinic_id),
                ..
            } if roles.contains(role) => Ok(StaffAccess {
                user_id: user_id.clone(),
                role: *role,
                clinic_id: clinic_id.clone(),
                meta: meta.clone(),
            }),
            _ => Err(self
                .deny(p, meta, &format!("{what}: not for this role"))
                .await?),
        }
    }
}
