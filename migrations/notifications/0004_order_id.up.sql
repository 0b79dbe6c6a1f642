-- The order a message is about, as a field of its own: clients find an
-- order's messages without reading the text. Null for messages about no
-- order (welcome). A replica still running the previous release inserts
-- messages without it, which the column admits.
ALTER TABLE mailbox ADD COLUMN order_id uuid;

-- The order messages written before carry their order's id in the subject
-- only ("Your order <id> ...").
UPDATE mailbox
   SET order_id = substring(subject FROM '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')::uuid
 WHERE kind <> 'welcome';
