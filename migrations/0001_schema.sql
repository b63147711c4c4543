-- capi-reconciler schema. Times are timestamptz; event_time columns hold the moment the
-- conversion happened in the browser (what Meta receives as unix seconds).

-- Browser events as sent to POST /v1/events. Personal data is stored hashed only.
CREATE TABLE client_events (
    id                  bigserial PRIMARY KEY,
    event_id            text        NOT NULL,
    event_name          text        NOT NULL,
    event_time          timestamptz NOT NULL,          -- the time used for Meta
    reported_event_time timestamptz,                    -- what the browser said, when it was replaced
    time_adjusted       text,                           -- why event_time was replaced (future, too_old, milliseconds)
    order_ref           text,
    event_source_url    text,
    fbp                 text,
    fbc                 text,
    client_ip_address   text,
    client_user_agent   text,
    user_data           jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- hashed fields only
    custom_data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    hash_anomalies      jsonb       NOT NULL DEFAULT '[]'::jsonb,   -- [{field, kind, detail}]
    received_at         timestamptz NOT NULL,
    CONSTRAINT client_events_event_uq UNIQUE (event_name, event_id)
);
CREATE INDEX client_events_order_ref_idx ON client_events (order_ref) WHERE order_ref IS NOT NULL;
CREATE INDEX client_events_event_id_idx ON client_events (event_id);
CREATE INDEX client_events_received_at_idx ON client_events (received_at);

-- One row per provider delivery; the unique key makes redeliveries harmless.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    provider        text        NOT NULL,
    delivery_id     text        NOT NULL,
    event_type      text        NOT NULL,
    order_ref       text,
    payment_id      bigint,
    status          text        NOT NULL CHECK (status IN ('accepted', 'ignored', 'duplicate_order')),
    status_reason   text,
    livemode        boolean,
    raw_payload     jsonb,              -- purged after retention.raw_payload_days
    received_at     timestamptz NOT NULL,
    CONSTRAINT webhook_deliveries_uq UNIQUE (provider, delivery_id)
);
CREATE INDEX webhook_deliveries_received_at_idx ON webhook_deliveries (received_at);
CREATE INDEX webhook_deliveries_raw_idx ON webhook_deliveries (received_at) WHERE raw_payload IS NOT NULL;

-- One row per paid order, however many webhooks describe it.
CREATE TABLE payments (
    id              bigserial PRIMARY KEY,
    provider        text        NOT NULL,
    payment_key     text        NOT NULL,   -- provider's canonical id (Stripe: PaymentIntent, else invoice/session)
    order_ref       text,                   -- the shop's reference, when known
    refs            text[]      NOT NULL DEFAULT '{}',  -- every reference that may name the browser event
    browser_event_id text,                  -- metadata.capi_event_id when the payment carries it
    amount_minor    bigint,
    currency        text,
    paid_at         timestamptz NOT NULL,
    user_data       jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- hashed customer data from the payment
    hash_anomalies  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    status          text        NOT NULL CHECK (status IN ('waiting', 'matched', 'unmatched', 'dropped', 'expired')),
    match_deadline  timestamptz NOT NULL,
    client_event_id bigint REFERENCES client_events (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    resolved_at     timestamptz,
    CONSTRAINT payments_key_uq UNIQUE (provider, payment_key)
);
CREATE INDEX payments_waiting_idx ON payments (match_deadline) WHERE status = 'waiting';
CREATE INDEX payments_refs_idx ON payments USING gin (refs);
CREATE INDEX payments_order_ref_idx ON payments (provider, order_ref) WHERE order_ref IS NOT NULL;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_payment_fk
    FOREIGN KEY (payment_id) REFERENCES payments (id) ON DELETE SET NULL;

-- The outbox and retry table: one row per (pixel, paid order).
CREATE TABLE outbound_events (
    id               bigserial PRIMARY KEY,
    pixel_id         text        NOT NULL,
    event_name       text        NOT NULL,
    event_id         text        NOT NULL,
    event_time       timestamptz NOT NULL,
    order_ref        text,
    payment_id       bigint REFERENCES payments (id) ON DELETE SET NULL,
    matched          boolean     NOT NULL,
    payload          jsonb       NOT NULL,   -- the exact server event sent to Meta (hashed only)
    status           text        NOT NULL CHECK (status IN ('pending', 'sent', 'retrying', 'dead', 'dry_run')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    last_error       text,
    last_http_status integer,
    fbtrace_id       text,
    test_event_code  boolean     NOT NULL DEFAULT false,  -- sent with a test event code
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    CONSTRAINT outbound_events_event_uq UNIQUE (pixel_id, event_name, event_id),
    CONSTRAINT outbound_events_payment_uq UNIQUE (pixel_id, payment_id)
);
-- The dispatcher's "due rows" scan: only unfinished rows, soonest first.
CREATE INDEX outbound_events_due_idx ON outbound_events (next_attempt_at, id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX outbound_events_created_at_idx ON outbound_events (created_at);
CREATE INDEX outbound_events_status_idx ON outbound_events (status);
ALTER TABLE outbound_events SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                                 autovacuum_vacuum_cost_delay = 0);

-- Every HTTP attempt, successful or not.
CREATE TABLE send_attempts (
    id                bigserial PRIMARY KEY,
    outbound_event_id bigint      NOT NULL REFERENCES outbound_events (id) ON DELETE CASCADE,
    attempted_at      timestamptz NOT NULL,
    http_status       integer,
    graph_code        integer,
    graph_subcode     integer,
    error_class       text,          -- ok, network, server, throttled, token, permission, invalid, expired
    message           text,
    fbtrace_id        text,
    latency_ms        integer,
    batch_size        integer
);
CREATE INDEX send_attempts_event_idx ON send_attempts (outbound_event_id, attempted_at);
CREATE INDEX send_attempts_time_idx ON send_attempts (attempted_at);

-- Pixels whose token or permissions failed: not sent to until a probe succeeds.
CREATE TABLE pixel_pauses (
    pixel_id      text PRIMARY KEY,
    reason        text        NOT NULL,
    paused_at     timestamptz NOT NULL,
    next_probe_at timestamptz NOT NULL
);

CREATE VIEW retry_queue AS
SELECT o.id, o.pixel_id, o.event_name, o.event_id, o.order_ref, o.status, o.attempts,
       o.next_attempt_at, o.event_time, o.event_time + interval '7 days' AS expires_at,
       o.last_http_status, o.last_error, o.fbtrace_id, o.created_at,
       (p.pixel_id IS NOT NULL) AS pixel_paused
FROM outbound_events o
LEFT JOIN pixel_pauses p ON p.pixel_id = o.pixel_id
WHERE o.status IN ('pending', 'retrying')
ORDER BY o.next_attempt_at, o.id;
