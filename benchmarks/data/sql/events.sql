-- Copy yesterday's raw events into the reporting table.
INSERT INTO daily_events (day, user_id, kind, amount)
SELECT date(e.ts, 'unixepoch'), e.user_id, lower(e.kind), coalesce(e.amount, 0)
FROM raw_events AS e
WHERE e.ts >= strftime('%s', 'now', '-1 day', 'start of day')
  AND e.ts < strftime('%s', 'now', 'start of day')
  AND e.kind NOT IN ('heartbeat', 'debug');

-- Funnel: users who viewed, added to cart, and bought.
SELECT COUNT(DISTINCT v.user_id) AS viewed,
       COUNT(DISTINCT c.user_id) AS carted,
       COUNT(DISTINCT b.user_id) AS bought
FROM daily_events v
LEFT JOIN daily_events c ON c.user_id = v.user_id AND c.kind = 'add_to_cart'
LEFT JOIN daily_events b ON b.user_id = v.user_id AND b.kind = 'purchase'
WHERE v.kind = 'view' AND v.day = date('now', '-1 day');

REPLACE INTO user_stats (user_id, last_seen, events)
SELECT user_id, MAX(day), COUNT(*) FROM daily_events GROUP BY user_id;

/* Sessions: gaps of more than thirty minutes start a new one. */
SELECT e.user_id, e.ts, e.ts - (
           SELECT MAX(p.ts) FROM raw_events p WHERE p.user_id = e.user_id AND p.ts < e.ts
       ) > 1800 AS new_session
FROM raw_events e
WHERE e.user_id = $user
ORDER BY e.ts;

DELETE FROM raw_events WHERE ts < strftime('%s', 'now', '-90 days');
