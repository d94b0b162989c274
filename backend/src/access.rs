//! Who may touch which record. The only way to read a patient's data is a [`PatientAccess`]
//! handle, which this module hands out after checking the principal; record functions take it.

pub use crate::audit::RequestMeta;
use crate::audit::{self, Entry, Outcome};
use crate::{Error, Portal, Result};
use domain::session::Role;

/// The caller, as established from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Patient {
        user_id: String,
        patient_id: String,
        session_id: String,
    },
    Staff {
        user_id: String,
        role: Role,
        clinic_id: Option<String>,
        session_id: String,
    },
}

impl Principal {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::Anonymous => None,
            Principal::Patient { user_id, .. } | Principal::Staff { user_id, .. } => Some(user_id),
        }
    }
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Principal::Anonymous => None,
            Principal::Patient { session_id, .. } | Principal::Staff { session_id, .. } => {
                Some(session_id)
            }
        }
    }
    /// The patient record the caller is (patients only).
    pub fn patient_id(&self) -> Option<String> {
        match self {
            Principal::Patient { patient_id, .. } => Some(patient_id.clone()),
            _ => None,
        }
    }
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::Patient { .. } => Some(Role::Patient),
            Principal::Staff { role, .. } => Some(*role),
        }
    }
}

/// Proof that the holder may read one patient's record. Built only here.
#[derive(Debug, Clone)]
pub struct PatientAccess {
    patient_id: String,
    actor_user_id: String,
    meta: RequestMeta,
    /// A handle whose reads are audited by its caller as one event (a download made of
    /// several lists), so the lists it reads do not each write a view entry.
    quiet: bool,
}

impl PatientAccess {
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

    /// An audit entry by the holder on this record, for a write that records it in its own
    /// transaction.
    pub fn entry(&self, action: &'static str, category: &'static str) -> Entry {
        Entry::new(action, Outcome::Ok)
            .actor(self.actor_user_id.clone())
            .patient(self.patient_id.clone())
            .category(category)
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
        let e = Entry::new(action, Outcome::Ok)
            .actor(self.actor_user_id.clone())
            .patient(self.patient_id.clone())
            .category(category)
            .detail(detail);
        audit::record(&portal.db, portal.now(), &self.meta, e).await
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
        let mut e = Entry::new(action, outcome)
            .actor(self.actor_user_id.clone())
            .patient(self.patient_id.clone())
            .category(category);
        if let Some(o) = object_id {
            e = e.object(o);
        }
        audit::record(&portal.db, portal.now(), &self.meta, e).await
    }
}

impl Portal {
    /// The signed-in patient's own record. Staff and anonymous callers are refused here;
    /// staff reach records through their own (audited) paths.
    pub async fn own_record(&self, p: &Principal, meta: &RequestMeta) -> Result<PatientAccess> {
        match p {
            Principal::Patient {
                user_id,
                patient_id,
                ..
            } => Ok(PatientAccess {
                patient_id: patient_id.clone(),
                actor_user_id: user_id.clone(),
                meta: meta.clone(),
                quiet: false,
            }),
            Principal::Anonymous => Err(Error::Unauthenticated),
            Principal::Staff { user_id, .. } => {
                audit::record(
                    &self.db,
                    self.now(),
                    meta,
                    Entry::new("access.denied", Outcome::Denied)
                        .actor(user_id.clone())
                        .detail("patient-only function"),
                )
                .await?;
                Err(Error::Forbidden)
            }
        }
    }
}

impl Portal {
    /// The principal behind a session cookie; anonymous when there is none or it has ended.
    pub async fn principal(&self, token: Option<&str>) -> Result<Principal> {
        let Some(token) = token else {
            return Ok(Principal::Anonymous);
        };
        let (s, u) = match crate::auth::session::resolve(self, token).await {
            Ok(found) => found,
            Err(Error::Unauthenticated) => return Ok(Principal::Anonymous),
            Err(e) => return Err(e),
        };
        let role = Role::parse(&u.role).ok_or_else(|| Error::Unexpected("unknown role".into()))?;
        Ok(match (role, u.patient_id) {
            (Role::Patient, Some(patient_id)) => Principal::Patient {
                user_id: u.id,
                patient_id,
                session_id: s.id,
            },
            (Role::Patient, None) => Principal::Anonymous,
            (role, _) => Principal::Staff {
                user_id: u.id,
                role,
                clinic_id: u.clinic_id,
                session_id: s.id,
            },
        })
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
        match p {
            Principal::Anonymous => Err(Error::Unauthenticated),
            Principal::Staff {
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
            _ => {
                audit::record(
                    &self.db,
                    self.now(),
                    meta,
                    Entry::new("access.denied", Outcome::Denied)
                        .actor(p.user_id().unwrap_or_default().to_owned())
                        .detail(format!("{what}: not for this role")),
                )
                .await?;
                Err(Error::Forbidden)
            }
        }
    }
}
