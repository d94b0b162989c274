-- Proxy access: a patient (or the front desk, for a child) grants a caregiver scoped,
-- time-limited access to one record. The invitation is a single-use link, stored hashed.
CREATE TABLE proxy_grant (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  -- Set when the caregiver accepts.
  caregiver_user_id TEXT REFERENCES user_account(id),
  invited_email TEXT NOT NULL,
  relationship TEXT NOT NULL,
  -- Comma-separated scope names (results, visits, medications, clinical, immunizations,
  -- messages, appointments).
  scopes TEXT NOT NULL,
  -- patient: granted by the patient; guardian: a parent's grant made by the front desk.
  kind TEXT NOT NULL,
  -- invited, active, revoked, expired, ended, declined
  status TEXT NOT NULL,
  created_by TEXT NOT NULL REFERENCES user_account(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  accepted_at BIGINT,
  ended_at BIGINT,
  end_reason TEXT,
  -- When the review reminder before expiry went out.
  reminded_at BIGINT,
  -- What the front desk recorded of the identity check (guardian grants).
  identity_note TEXT,
  invite_token_hash TEXT,
  invite_expires_at BIGINT
);
CREATE UNIQUE INDEX proxy_grant_invite ON proxy_grant(invite_token_hash);
CREATE INDEX proxy_grant_caregiver ON proxy_grant(caregiver_user_id, status);
CREATE INDEX proxy_grant_patient ON proxy_grant(patient_id, status);
-- The grant a caregiver's session acts through; checked again on every request.
ALTER TABLE user_session ADD COLUMN acting_grant_id TEXT;
-- Sensitive categories (domain::proxy::Sensitivity names): hidden from a parent's grant for
-- a patient aged 12 to 17.
ALTER TABLE observation ADD COLUMN sensitivity TEXT;
ALTER TABLE diagnostic_report ADD COLUMN sensitivity TEXT;
ALTER TABLE encounter ADD COLUMN sensitivity TEXT;
ALTER TABLE medication ADD COLUMN sensitivity TEXT;
ALTER TABLE problem ADD COLUMN sensitivity TEXT;
ALTER TABLE allergy ADD COLUMN sensitivity TEXT;
ALTER TABLE immunization ADD COLUMN sensitivity TEXT;
ALTER TABLE document ADD COLUMN sensitivity TEXT;
ALTER TABLE message_thread ADD COLUMN sensitivity TEXT;
