-- The PostgreSQL peer's schema: one row per funding account, per card and
-- per authorization. PANs and CVV2s are never stored: cards are keyed by
-- an HMAC-SHA256 of the PAN, and the CVV2 is kept as an HMAC of PAN and
-- CVV2, as an issuer keeps card data (ledgersim encrypts and hashes PANs
-- and derives CVV2s with a key).
DROP TABLE IF EXISTS authorizations;
DROP TABLE IF EXISTS cards;
DROP TABLE IF EXISTS accounts;

CREATE TABLE accounts (
    id            text   PRIMARY KEY,
    balance_cents bigint NOT NULL,
    held_cents    bigint NOT NULL DEFAULT 0 CHECK (held_cents >= 0)
);

CREATE TABLE cards (
    pan_mac          bytea  PRIMARY KEY,
    account_id       text   NOT NULL REFERENCES accounts (id),
    cvv_mac          bytea  NOT NULL,
    expiry           text   NOT NULL, -- YYMM
    status           text   NOT NULL,
    max_amount_cents bigint NOT NULL
);

CREATE TABLE authorizations (
    rrn            text        PRIMARY KEY, -- DE 37
    stan           text        NOT NULL,    -- DE 11
    pan_mac        bytea       NOT NULL,
    account_id     text        REFERENCES accounts (id), -- NULL for an unknown card
    kind           text        NOT NULL,    -- purchase or refund
    amount_cents   bigint      NOT NULL,
    hold_cents     bigint      NOT NULL,
    captured_cents bigint      NOT NULL DEFAULT 0,
    response_code  text        NOT NULL,    -- DE 39
    auth_code      text,                    -- DE 38 of an approval
    state          text        NOT NULL,    -- declined, held, cleared, reversed, refunded
    created_at     timestamptz NOT NULL DEFAULT now()
);
