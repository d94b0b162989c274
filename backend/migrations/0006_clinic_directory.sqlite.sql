-- Practitioners, locations and organizations belong to one clinic: each clinic's EHR feed
-- writes its own directory, and the same FHIR id in two clinics' feeds names two rows.
-- A row written before this belonged to every clinic; it goes to the clinic that used it
-- (its schedules, then its patients' visits), else to the first clinic.
-- SQLite cannot drop a column's UNIQUE, so each table is copied, rebuilt and refilled in
-- one transaction with foreign-key checks deferred: the schedules and visits that point at a
-- location point at the same ids again before the transaction commits.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE practitioner_before AS SELECT * FROM practitioner;
DROP TABLE practitioner;
CREATE TABLE practitioner (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  fhir_id TEXT NOT NULL,
  name TEXT NOT NULL,
  npi TEXT,
  resource TEXT
);
INSERT INTO practitioner (id, clinic_id, fhir_id, name, npi, resource)
  SELECT id, COALESCE((SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.practitioner_ref = practitioner_before.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1)), fhir_id, name, npi, resource FROM practitioner_before;
DROP TABLE practitioner_before;
CREATE UNIQUE INDEX practitioner_clinic_fhir ON practitioner(clinic_id, fhir_id);
CREATE TABLE location_before AS SELECT * FROM location;
DROP TABLE location;
CREATE TABLE location (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  fhir_id TEXT NOT NULL,
  name TEXT NOT NULL,
  address TEXT,
  resource TEXT
);
INSERT INTO location (id, clinic_id, fhir_id, name, address, resource)
  SELECT id, COALESCE((SELECT a.clinic_id FROM availability a WHERE a.location_id = location_before.id LIMIT 1), (SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.location_ref = location_before.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1)), fhir_id, name, address, resource FROM location_before;
DROP TABLE location_before;
CREATE UNIQUE INDEX location_clinic_fhir ON location(clinic_id, fhir_id);
CREATE TABLE organization_before AS SELECT * FROM organization;
DROP TABLE organization;
CREATE TABLE organization (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  fhir_id TEXT NOT NULL,
  name TEXT NOT NULL,
  address TEXT,
  phone TEXT,
  resource TEXT
);
INSERT INTO organization (id, clinic_id, fhir_id, name, address, phone, resource)
  SELECT id, COALESCE((SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.organization_ref = organization_before.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1)), fhir_id, name, address, phone, resource FROM organization_before;
DROP TABLE organization_before;
CREATE UNIQUE INDEX organization_clinic_fhir ON organization(clinic_id, fhir_id);
