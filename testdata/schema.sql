-- pgfast demo schema: the `customer` table the demo routes and the benchmarks
-- read. One row's JSON is about 1 KB (the `notes` column is the padding).
-- Loaded once into a fresh embedded cluster; rows come from
-- embedpg.LoadCustomers (deterministic, COPY).
CREATE TABLE IF NOT EXISTS customer (
    customer_id   bigint PRIMARY KEY,
    first_name    text        NOT NULL,
    last_name     text        NOT NULL,
    email         text        NOT NULL,
    phone_number  text        NOT NULL,
    street        text        NOT NULL,
    city          text        NOT NULL,
    country       text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    balance       numeric(12,2) NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    notes         text        NOT NULL
);

CREATE INDEX IF NOT EXISTS customer_last_name_idx ON customer (last_name);
