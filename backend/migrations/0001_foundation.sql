-- The foundation schema. Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Ids are UUIDv7 text; instants are Unix milliseconds (BIGINT); calendar dates are ISO text.
CREATE TABLE clinic (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  phone TEXT,
  require_second_factor BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE patient (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  mrn TEXT NOT NULL UNIQUE,
  mrn_system TEXT,
  fhir_id TEXT UNIQUE,
  given_name TEXT NOT NULL,
  family_name TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  sex TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE user_account (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL,
  email_key TEXT NOT NULL UNIQUE,
  email_verified_at BIGINT,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  patient_id TEXT UNIQUE REFERENCES patient(id),
  clinic_id TEXT REFERENCES clinic(id),
  given_name TEXT NOT NULL,
  family_name TEXT NOT NULL,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_at BIGINT,
  suspended_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE activation_code (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  code_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  revoked_at BIGINT,
  created_by TEXT
);
CREATE INDEX activation_code_patient ON activation_code(patient_id);
CREATE TABLE signup (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  activation_code_id TEXT NOT NULL REFERENCES activation_code(id),
  user_id TEXT REFERENCES user_account(id),
  email_code_hash TEXT,
  email_code_expires_at BIGINT,
  email_code_attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  completed_at BIGINT
);
CREATE TABLE user_session (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES user_account(id),
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  ended_at BIGINT,
  end_reason TEXT,
  ip TEXT,
  user_agent TEXT
);
CREATE INDEX user_session_user ON user_session(user_id);
CREATE TABLE throttle (
  bucket TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start BIGINT NOT NULL,
  last_failure_at BIGINT NOT NULL,
  locked_at BIGINT
);
CREATE TABLE audit_event (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor_user_id TEXT,
  actor_label TEXT,
  on_behalf_of TEXT,
  patient_id TEXT,
  action TEXT NOT NULL,
  category TEXT,
  object_id TEXT,
  outcome TEXT NOT NULL,
  ip TEXT,
  user_agent TEXT,
  detail TEXT
);
CREATE INDEX audit_event_patient ON audit_event(patient_id, at);
CREATE INDEX audit_event_actor ON audit_event(actor_user_id, at);
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE diagnostic_report (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  code TEXT,
  name TEXT NOT NULL,
  category TEXT,
  status TEXT NOT NULL,
  effective_at BIGINT,
  issued_at BIGINT,
  released_at BIGINT
);
CREATE INDEX diagnostic_report_patient ON diagnostic_report(patient_id, effective_at);
CREATE TABLE observation (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  report_id TEXT REFERENCES diagnostic_report(id),
  fhir_id TEXT NOT NULL UNIQUE,
  category TEXT NOT NULL,
  code TEXT,
  name TEXT NOT NULL,
  value_num DOUBLE PRECISION,
  value_text TEXT,
  unit TEXT,
  ref_low DOUBLE PRECISION,
  ref_high DOUBLE PRECISION,
  ref_text TEXT,
  interpretation TEXT,
  status TEXT NOT NULL,
  effective_at BIGINT,
  released_at BIGINT
);
CREATE INDEX observation_patient ON observation(patient_id, effective_at);
CREATE INDEX observation_report ON observation(report_id);
CREATE TABLE encounter (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  class_code TEXT,
  type_text TEXT,
  reason TEXT,
  start_at BIGINT,
  end_at BIGINT
);
CREATE TABLE problem (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  code TEXT,
  code_system TEXT,
  name TEXT NOT NULL,
  clinical_status TEXT,
  onset TEXT
);
CREATE TABLE allergy (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  code TEXT,
  name TEXT NOT NULL,
  clinical_status TEXT,
  criticality TEXT,
  recorded TEXT
);
CREATE TABLE medication (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  code TEXT,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  authored_on TEXT,
  dosage TEXT
);
CREATE TABLE immunization (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  cvx TEXT,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  occurred TEXT,
  lot TEXT,
  dose TEXT,
  performer TEXT
);
CREATE TABLE portal_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
