-- Second factors, recovery and re-authentication (SECURITY.md 7-18).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- When the session's holder last proved who they are (sign-in or re-authentication).
ALTER TABLE user_session ADD COLUMN authenticated_at BIGINT;

ALTER TABLE user_account ADD COLUMN phone TEXT;
ALTER TABLE user_account ADD COLUMN phone_verified_at BIGINT;

-- Enrolled second factors: an authenticator app (TOTP), a passkey, or email / SMS codes.
CREATE TABLE auth_factor (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES user_account(id),
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  -- TOTP: the secret, AEAD-encrypted with the server key and bound to this row.
  secret_enc TEXT,
  -- TOTP: the last time step accepted; a code for it or an earlier step is a replay.
  last_step BIGINT,
  -- Passkey: the credential id (base64url) and the stored credential.
  credential_id TEXT UNIQUE,
  credential TEXT,
  created_at BIGINT NOT NULL,
  -- Until one code is proven, a TOTP enrolment is pending and does not count.
  confirmed_at BIGINT,
  last_used_at BIGINT
);
CREATE INDEX auth_factor_user ON auth_factor(user_id);

-- Backup codes: stored hashed, each single-use; a new set voids the old one.
CREATE TABLE backup_code (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES user_account(id),
  code_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX backup_code_user ON backup_code(user_id);

-- Short-lived, single-use tickets between steps: a sign-in waiting for its second factor,
-- an enrolment forced by policy, a password reset, a code sent to verify an address, and
-- WebAuthn ceremony state. Only the token's hash is stored.
CREATE TABLE auth_ticket (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  user_id TEXT REFERENCES user_account(id),
  purpose TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  code_hash TEXT,
  code_expires_at BIGINT,
  -- What the ticket carries: a new address to verify, WebAuthn state, a second factor proven.
  payload TEXT,
  factor_done_at BIGINT
);
CREATE INDEX auth_ticket_user ON auth_ticket(user_id);
