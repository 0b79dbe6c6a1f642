-- Users, their sessions and the login rate-limit counters of the identity
-- module. Everything lives in the module's own schema (the search_path).

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('customer', 'admin')),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

-- Bootstrap asks "is there an admin?" on every start.
CREATE INDEX users_admin_idx ON users (role) WHERE role = 'admin';

-- Tokens are stored only as their SHA-256, so a leaked table holds no usable
-- session.
CREATE TABLE sessions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Fixed-window counters shared by every replica: key is "ip:<address>" or
-- "account:<email>".
CREATE TABLE login_attempts (
    key          text        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL CHECK (count > 0)
);

CREATE INDEX login_attempts_window_start_idx ON login_attempts (window_start);
