-- Working with the care team: secure messages, refill requests and appointments.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (partial unique indexes work on both).

-- The clinic's wall clock, for schedules (an IANA zone name).
ALTER TABLE clinic ADD COLUMN time_zone TEXT;

-- A care team: a pool of the clinic's staff that patients can write to.
CREATE TABLE care_team (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  name TEXT NOT NULL,
  -- What the team promises: an answer within this many business hours.
  response_hours INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

-- A conversation between one patient and a team (or a named clinician of it).
CREATE TABLE message_thread (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  team_id TEXT NOT NULL REFERENCES care_team(id),
  clinician_id TEXT REFERENCES user_account(id),
  topic TEXT NOT NULL,
  subject TEXT NOT NULL,
  status TEXT NOT NULL,
  assigned_to TEXT REFERENCES user_account(id),
  created_by TEXT NOT NULL REFERENCES user_account(id),
  created_at BIGINT NOT NULL,
  last_message_at BIGINT NOT NULL,
  -- Who wrote last: 'patient' or 'staff' (what the other side has not answered yet).
  last_from TEXT NOT NULL,
  patient_read_at BIGINT,
  staff_read_at BIGINT,
  closed_at BIGINT,
  closed_by TEXT
);
CREATE INDEX message_thread_patient ON message_thread(patient_id, last_message_at);
CREATE INDEX message_thread_team ON message_thread(team_id, status, last_message_at);

CREATE TABLE message (
  id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL REFERENCES message_thread(id),
  author_user_id TEXT NOT NULL REFERENCES user_account(id),
  author_side TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX message_thread_at ON message(thread_id, created_at);

-- Attachments live in the database (outside any web root, in the same transaction as their
-- message, and shared by every server instance); served only as downloads.
CREATE TABLE message_attachment (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES message(id),
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  content BYTEA NOT NULL
);
CREATE INDEX message_attachment_message ON message_attachment(message_id);

-- Pharmacies a patient can choose for a refill.
CREATE TABLE pharmacy (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  phone TEXT
);

CREATE TABLE refill_request (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  medication_id TEXT NOT NULL REFERENCES medication(id),
  pharmacy_id TEXT NOT NULL REFERENCES pharmacy(id),
  note TEXT,
  -- requested -> approved | denied; approved -> sent
  status TEXT NOT NULL,
  quantity INTEGER,
  deny_reason TEXT,
  requested_by TEXT NOT NULL REFERENCES user_account(id),
  requested_at BIGINT NOT NULL,
  decided_by TEXT REFERENCES user_account(id),
  decided_at BIGINT,
  sent_at BIGINT,
  -- Non-null while the request is open; the unique index below makes a second open request
  -- for the same medication impossible, also under concurrent requests.
  open_key TEXT
);
CREATE UNIQUE INDEX refill_request_open ON refill_request(open_key);
CREATE INDEX refill_request_patient ON refill_request(patient_id, requested_at);
CREATE INDEX refill_request_status ON refill_request(status, requested_at);

-- Scheduling. A visit type says how long it takes and whether patients may book it themselves.
CREATE TABLE visit_type (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  name TEXT NOT NULL,
  minutes INTEGER NOT NULL,
  self_schedule BIGINT NOT NULL,
  instructions TEXT
);

-- A weekly availability template: on `weekday` (1 = Monday) from start to end (minutes after
-- local midnight) the clinician sees `visit_type` visits at `location`, back to back.
CREATE TABLE availability (
  id TEXT PRIMARY KEY,
  clinic_id TEXT NOT NULL REFERENCES clinic(id),
  clinician_id TEXT NOT NULL REFERENCES user_account(id),
  location_id TEXT NOT NULL REFERENCES location(id),
  visit_type_id TEXT NOT NULL REFERENCES visit_type(id),
  weekday INTEGER NOT NULL,
  start_minute INTEGER NOT NULL,
  end_minute INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  removed_at BIGINT
);
CREATE INDEX availability_clinician ON availability(clinician_id, weekday);

-- A day (local date) or part of one on which a clinician has no slots.
CREATE TABLE availability_exception (
  id TEXT PRIMARY KEY,
  clinician_id TEXT NOT NULL REFERENCES user_account(id),
  day TEXT NOT NULL,
  start_minute INTEGER NOT NULL,
  end_minute INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX availability_exception_clinician ON availability_exception(clinician_id, day);

CREATE TABLE appointment (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  clinician_id TEXT NOT NULL REFERENCES user_account(id),
  location_id TEXT NOT NULL REFERENCES location(id),
  visit_type_id TEXT NOT NULL REFERENCES visit_type(id),
  start_at BIGINT NOT NULL,
  end_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  booked_by TEXT NOT NULL REFERENCES user_account(id),
  booked_at BIGINT NOT NULL,
  cancelled_at BIGINT,
  cancelled_by TEXT,
  reminder_sent_at BIGINT,
  -- Non-null while booked: the clinician and start. Its unique index is what makes a double
  -- booking impossible, whichever server instance takes the request.
  slot_key TEXT
);
CREATE UNIQUE INDEX appointment_slot ON appointment(slot_key);
CREATE INDEX appointment_patient ON appointment(patient_id, start_at);
CREATE INDEX appointment_clinician ON appointment(clinician_id, start_at);

-- A patient's request for a visit when no slot fits; the front desk works through them.
CREATE TABLE visit_request (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  visit_type_id TEXT NOT NULL REFERENCES visit_type(id),
  preferred TEXT NOT NULL,
  note TEXT,
  status TEXT NOT NULL,
  requested_by TEXT NOT NULL REFERENCES user_account(id),
  requested_at BIGINT NOT NULL,
  handled_by TEXT,
  handled_at BIGINT,
  -- patient and visit type while open: one open request per kind of visit, also under races.
  open_key TEXT
);
CREATE UNIQUE INDEX visit_request_open ON visit_request(open_key);
CREATE INDEX visit_request_status ON visit_request(status, requested_at);

-- Waiting for an earlier slot of a visit type (optionally with one clinician). When a slot
-- opens, every waiting patient is told; the first to accept books it.
CREATE TABLE waitlist_entry (
  id TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL REFERENCES patient(id),
  visit_type_id TEXT NOT NULL REFERENCES visit_type(id),
  clinician_id TEXT REFERENCES user_account(id),
  -- The booked appointment the patient would move earlier, if any.
  appointment_id TEXT REFERENCES appointment(id),
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  offered_at BIGINT,
  ended_at BIGINT,
  -- patient and visit type while waiting: one place on each waitlist.
  open_key TEXT
);
CREATE UNIQUE INDEX waitlist_entry_open ON waitlist_entry(open_key);
CREATE INDEX waitlist_entry_type ON waitlist_entry(visit_type_id, status);
CREATE TABLE waitlist_offer (
  id TEXT PRIMARY KEY,
  entry_id TEXT NOT NULL REFERENCES waitlist_entry(id),
  -- The slot offered, as the booking form names it.
  slot TEXT NOT NULL,
  start_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  -- open, accepted, taken (someone else was first), expired
  status TEXT NOT NULL
);
CREATE INDEX waitlist_offer_entry ON waitlist_offer(entry_id, status);
