-- Holds reach reports and visit notes too: a clinician may hold either from the patient with
-- a documented reason, like one result. A held report hides its results with it.
ALTER TABLE diagnostic_report ADD COLUMN held_at BIGINT;
ALTER TABLE diagnostic_report ADD COLUMN held_by TEXT;
ALTER TABLE diagnostic_report ADD COLUMN hold_reason TEXT;
ALTER TABLE document ADD COLUMN held_at BIGINT;
ALTER TABLE document ADD COLUMN held_by TEXT;
ALTER TABLE document ADD COLUMN hold_reason TEXT;
-- A clinician's own sensitivity decision on a result or a message thread: who made it. A
-- later import keeps a result's decided sensitivity instead of its codes' default.
ALTER TABLE observation ADD COLUMN sensitivity_by TEXT;
ALTER TABLE message_thread ADD COLUMN sensitivity_by TEXT;
