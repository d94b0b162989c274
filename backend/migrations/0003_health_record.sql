-- The health record in full (issue: health record) and the tamper-evident audit log.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Audit rows are SHA-256 hash-chained: each row carries its position in the chain, the hash
-- of the row before it and its own hash. The head row holds the last position and hash, and
-- writers update it in the same transaction as their insert, so the chain has one order.
ALTER TABLE audit_event ADD COLUMN seq BIGINT;
ALTER TABLE audit_event ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_event ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_event_seq ON audit_event(seq);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Each clinical row keeps the FHIR resource it was imported from, for the FHIR export.
ALTER TABLE patient ADD COLUMN resource TEXT;
ALTER TABLE diagnostic_report ADD COLUMN resource TEXT;
ALTER TABLE diagnostic_report ADD COLUMN encounter_ref TEXT;
ALTER TABLE observation ADD COLUMN resource TEXT;
ALTER TABLE observation ADD COLUMN encounter_ref TEXT;
ALTER TABLE encounter ADD COLUMN resource TEXT;
ALTER TABLE encounter ADD COLUMN practitioner_ref TEXT;
ALTER TABLE encounter ADD COLUMN location_ref TEXT;
ALTER TABLE encounter ADD COLUMN organization_ref TEXT;
-- JSON array of the logical ids of the Conditions diagnosed at the visit.
ALTER TABLE encounter ADD COLUMN diagnosis_refs TEXT;
ALTER TABLE problem ADD COLUMN resource TEXT;
ALTER TABLE problem ADD COLUMN encounter_ref TEXT;
ALTER TABLE allergy ADD COLUMN resource TEXT;
ALTER TABLE allergy ADD COLUMN reaction TEXT;
ALTER TABLE medication ADD COLUMN resource TEXT;
ALTER TABLE medication ADD COLUMN encounter_ref TEXT;
ALTER TABLE immunization ADD COLUMN resource TEXT;
ALTER TABLE immunization ADD COLUMN dose_number TEXT;
ALTER TABLE immunization ADD COLUMN site TEXT;

-- Release rules: a clinician may hold one result with a documented reason; a clinician's
-- review is recorded; a patient may ask to see a category of results only after review or
-- after some days (their own request, recorded with when and by whom).
ALTER TABLE observation ADD COLUMN held_at BIGINT;
ALTER TABLE observation ADD COLUMN held_by TEXT;
ALTER TABLE observation ADD COLUMN hold_reason TEXT;
ALTER TABLE observation ADD COLUMN reviewed_at BIGINT;
CREATE TABLE release_preference (
  patient_id TEXT NOT NULL REFERENCES patient(id),
  category TEXT NOT NULL,
  rule TEXT NOT NULL,
  days INTEGER,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (patient_id, category)
);

CREATE INDEX encounter_patient ON encounter(patient_id, start_at);
CREATE INDEX immunization_patient ON immunization(patient_id);
CREATE INDEX medication_patient ON medication(patient_id);

-- Who and where: shared by every patient of the clinic, so not PHI on their own.
CREATE TABLE practitioner (
  id TEXT PRIMARY KEY,
  fhir_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  npi TEXT,
  resource TEXT
);
CREATE TABLE location (
  id TEXT PRIMARY KEY,
  fhir_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  address TEXT,
  resource TEXT
);
CREATE TABLE organization (
  id TEXT PRIMARY KEY,
  fhir_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  address TEXT,
  phone TEXT,
  resource TEXT
);

-- Clinical documents (FHIR DocumentReference): visit notes and patient instructions.
-- Only plain-text attachments are kept as text; others keep their resource only.
CREATE TABLE document (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  fhir_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  type_text TEXT,
  title TEXT,
  status TEXT NOT NULL,
  date_at BIGINT,
  encounter_ref TEXT,
  author_ref TEXT,
  body TEXT,
  resource TEXT
);
CREATE INDEX document_patient ON document(patient_id, date_at);

-- Per-clinic API tokens for an EHR feed (POST /fhir/import), stored hashed.
CREATE TABLE api_token (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);

-- A transmitted summary kept in the outbox (development: no SMTP server configured).
ALTER TABLE outbox ADD COLUMN attachment_name TEXT;
ALTER TABLE outbox ADD COLUMN attachment TEXT;
