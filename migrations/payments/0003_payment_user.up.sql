-- The customer whose order a payment pays: they may read it (their payment
-- and its refund), as admins may. The orders module passes it with the
-- authorization, so this module never asks orders who owns an order (orders
-- depends on payments, not the reverse). Null for payments authorized
-- before it was kept, and for those a replica still running the previous
-- release records: only admins read those.
ALTER TABLE payments ADD COLUMN user_id uuid;
