-- pay-demo's orders, top-up balances and refunds (issue 14). One file for SQLite and PostgreSQL:
-- TEXT and BIGINT only (amounts in fen 分, times in seconds since the Unix epoch), no
-- AUTOINCREMENT/SERIAL, no booleans. The CHECKs repeat, in the database, the rules the code keeps.

CREATE TABLE orders (
    -- out_trade_no (商户订单号)
    id TEXT PRIMARY KEY,
    -- the payer
    openid TEXT NOT NULL,
    -- 'top_up' (充值) or 'product'
    item_kind TEXT NOT NULL CHECK (item_kind IN ('top_up', 'product')),
    -- the catalogue's id, for a product
    product_id TEXT,
    -- the amount, decided by the server
    total_fee BIGINT NOT NULL CHECK (total_fee > 0),
    state TEXT NOT NULL DEFAULT 'unpaid' CHECK (state IN ('unpaid', 'paid', 'refunded')),
    -- WeChat Pay's transaction_id, once paid
    transaction_id TEXT,
    paid_at BIGINT,
    -- the balance a paid top-up credited
    credit BIGINT,
    -- time_expire: WeChat Pay takes no payment after it
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- fen of the refunds asked and not given back: never more than was paid
    refund_reserved BIGINT NOT NULL DEFAULT 0,
    -- fen of the refunds WeChat Pay confirmed
    refunded_fee BIGINT NOT NULL DEFAULT 0,
    CHECK (refund_reserved >= 0 AND refund_reserved <= total_fee),
    CHECK (refunded_fee >= 0 AND refunded_fee <= refund_reserved)
);

-- The unpaid orders by expiry: counted (the cap) and purged at each new order.
CREATE INDEX orders_state_expires_at ON orders (state, expires_at);

CREATE TABLE balances (
    openid TEXT PRIMARY KEY,
    -- fen; a refund never takes back more than is left
    balance BIGINT NOT NULL CHECK (balance >= 0)
);

CREATE TABLE refunds (
    -- out_refund_no (商户退款单号): one row per refund, whatever is retried
    out_refund_no TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    -- 'asked' (reserved, WeChat Pay asked), 'succeeded' (its notification confirmed it),
    -- 'released' (WeChat Pay refused it or it failed: the reservation was given back)
    state TEXT NOT NULL DEFAULT 'asked' CHECK (state IN ('asked', 'succeeded', 'released')),
    created_at BIGINT NOT NULL,
    done_at BIGINT
);

CREATE INDEX refunds_order_id ON refunds (order_id);
