-- The day's fulfilment requests per warehouse (allocation's capacity check, requestsSince:
-- status = 'requested' AND warehouse = … AND requested_at >= <its local midnight>): an
-- index-only range scan over that warehouse's requested shipments of the day, whatever
-- else the table holds (shipments_day_idx has to visit the heap for each row's status).
CREATE INDEX shipments_requested_day_idx ON shipments (warehouse, requested_at) WHERE status = 'requested';
