-- Benchmark data for one time slice [%(lo)s, %(hi)s): every 15-minute interval x every group of
-- the benchmark services, generated inside the server (INSERT ... SELECT generate_series),
-- with a daily curve in each service's local time, weekday/weekend levels and noise.
-- Every row satisfies the table's CHECK constraints; SL and abandonment are known.
INSERT INTO wfm.contact_statistics (
    interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
    avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
    abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
SELECT t.ts,
       g.service_id,
       g.group_id,
       c.calls - c.repeats,
       c.calls,
       CASE WHEN c.calls > 0 THEN 120 + (g.group_id %% 7) * 25 + (random() * 60)::int END,
       CASE WHEN c.calls > 0 THEN 15 + (g.group_id %% 5) * 5 + (random() * 20)::int END,
       c.calls - c.abandoned,
       ((c.calls - c.abandoned) * (0.70 + random() * 0.28))::int,
       c.abandoned,
       20,
       %(batch)s,
       %(loaded_at)s
FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - interval '15 minutes', interval '15 minutes') AS t(ts)
CROSS JOIN (
    SELECT gr.group_id, gr.service_id, s.time_zone, 4 + (gr.group_id %% 9) AS base
    FROM wfm.groups gr JOIN wfm.services s ON s.service_id = gr.service_id
    WHERE s.code LIKE 'BENCH%%'
) AS g
CROSS JOIN LATERAL (
    SELECT extract(hour FROM t.ts AT TIME ZONE g.time_zone) + extract(minute FROM t.ts AT TIME ZONE g.time_zone) / 60.0 AS hour,
           extract(isodow FROM t.ts AT TIME ZONE g.time_zone) AS dow
) AS l
CROSS JOIN LATERAL (
    -- Calls follow a day curve peaking around 11:00 and 15:00 local time; weekends at 40 %%.
    SELECT greatest(0, round(g.base * (0.05 + greatest(0, sin(pi() * (l.hour - 7) / 12)) * 2.5)
                        * CASE WHEN l.dow >= 6 THEN 0.4 ELSE 1 END * (0.75 + random() * 0.5)))::int AS calls
) AS v
CROSS JOIN LATERAL (
    SELECT v.calls, (v.calls * random() * 0.15)::int AS repeats, (v.calls * random() * 0.08)::int AS abandoned
) AS c
