-- Practitioners, locations and organizations belong to one clinic: each clinic's EHR feed
-- writes its own directory, and the same FHIR id in two clinics' feeds names two rows.
-- A row written before this belonged to every clinic; it goes to the clinic that used it
-- (its schedules, then its patients' visits), else to the first clinic.
ALTER TABLE practitioner ADD COLUMN clinic_id TEXT REFERENCES clinic(id);
UPDATE practitioner SET clinic_id = COALESCE((SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.practitioner_ref = practitioner.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1));
ALTER TABLE practitioner ALTER COLUMN clinic_id SET NOT NULL;
ALTER TABLE practitioner DROP CONSTRAINT practitioner_fhir_id_key;
CREATE UNIQUE INDEX practitioner_clinic_fhir ON practitioner(clinic_id, fhir_id);
ALTER TABLE location ADD COLUMN clinic_id TEXT REFERENCES clinic(id);
UPDATE location SET clinic_id = COALESCE((SELECT a.clinic_id FROM availability a WHERE a.location_id = location.id LIMIT 1), (SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.location_ref = location.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1));
ALTER TABLE location ALTER COLUMN clinic_id SET NOT NULL;
ALTER TABLE location DROP CONSTRAINT location_fhir_id_key;
CREATE UNIQUE INDEX location_clinic_fhir ON location(clinic_id, fhir_id);
ALTER TABLE organization ADD COLUMN clinic_id TEXT REFERENCES clinic(id);
UPDATE organization SET clinic_id = COALESCE((SELECT p.clinic_id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.organization_ref = organization.fhir_id LIMIT 1), (SELECT id FROM clinic ORDER BY created_at, id LIMIT 1));
ALTER TABLE organization ALTER COLUMN clinic_id SET NOT NULL;
ALTER TABLE organization DROP CONSTRAINT organization_fhir_id_key;
CREATE UNIQUE INDEX organization_clinic_fhir ON organization(clinic_id, fhir_id);
