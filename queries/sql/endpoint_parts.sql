-- The parts every time-to-event endpoint and the best overall response are computed from, one
-- row per cohort patient (rid = the cohort table's row key), as whole days after index. The
-- endpoints themselves are expressions over these columns (queries/analyses/survival.py), so an
-- option (a death window, censoring at the next line) never rebuilds this table.
--
-- Tumour assessments count when they belong to the index line and are dated after index (a
-- scan on the index day is the baseline); with no index line (index = diagnosis) every line's.
--   death_d, fu_d      death (NULL if alive); last follow-up (death if dead)
--   pd_d               first PD
--   last_d             last adequate assessment (CR, PR, SD or PD; NE is not adequate)
--   resp_d             first CR/PR before the first PD
--   cresp_d            first CR/PR confirmed by a CR/PR >= 28 days later, before the first PD
--   bor_unconfirmed, bor_confirmed   RECIST 1.1 best overall response (below); NULL = no
--                      assessment at all ("Not evaluable")
--   next_d             start of the next line (a higher line number started after index)
--   line_end_d         end of the index line's last-ending drug; NULL while one is ongoing
--   has_line           the patient has treatment rows of the index line
-- Best overall response: nothing on or after the first PD counts. CR/PR count as such
-- (unconfirmed) or only when a later CR/PR >= 28 days after confirms them (a CR needs a later
-- CR); SD needs a CR/PR/SD assessment >= 42 days after index; otherwise PD when progressed,
-- else NE.
WITH ta AS (
    SELECT c.rid,
           CAST(date_diff('day', c.index_date, t.assessment_date) AS INTEGER) AS day,
           t.response
    FROM {cohort} c JOIN tumor_assessments t USING (patient_id)
    WHERE t.assessment_date > c.index_date
      AND (t.line_number = c.index_line OR c.index_line IS NULL)
), progression AS (
    SELECT rid,
           min(day) FILTER (WHERE response = 'PD') AS pd_d,
           max(day) FILTER (WHERE response IN ('CR', 'PR', 'SD', 'PD')) AS last_d
    FROM ta GROUP BY rid
), before_pd AS (
    SELECT ta.rid, ta.day, ta.response
    FROM ta JOIN progression p USING (rid)
    WHERE p.pd_d IS NULL OR ta.day < p.pd_d
), last_response AS (
    SELECT rid,
           max(day) FILTER (WHERE response IN ('CR', 'PR')) AS last_crpr,
           max(day) FILTER (WHERE response = 'CR') AS last_cr
    FROM before_pd GROUP BY rid
), response AS (
    SELECT b.rid,
           min(b.day) FILTER (WHERE b.response IN ('CR', 'PR')) AS resp_d,
           min(b.day) FILTER (WHERE b.response IN ('CR', 'PR')
                                AND b.day + 28 <= l.last_crpr) AS cresp_d,
           bool_or(b.response = 'CR') AS any_cr,
           bool_or(b.response = 'CR' AND b.day + 28 <= l.last_cr) AS confirmed_cr,
           bool_or(b.response IN ('CR', 'PR', 'SD') AND b.day >= 42) AS stable_long_enough
    FROM before_pd b JOIN last_response l USING (rid)
    GROUP BY b.rid
), assessed AS (
    SELECT p.rid, p.pd_d, p.last_d, r.resp_d, r.cresp_d,
           CASE WHEN r.any_cr THEN 'CR' WHEN r.resp_d IS NOT NULL THEN 'PR'
                WHEN r.stable_long_enough THEN 'SD' WHEN p.pd_d IS NOT NULL THEN 'PD'
                ELSE 'NE' END AS bor_unconfirmed,
           CASE WHEN r.confirmed_cr THEN 'CR' WHEN r.cresp_d IS NOT NULL THEN 'PR'
                WHEN r.stable_long_enough THEN 'SD' WHEN p.pd_d IS NOT NULL THEN 'PD'
                ELSE 'NE' END AS bor_confirmed
    FROM progression p LEFT JOIN response r USING (rid)
), lines AS (
    SELECT c.rid,
           min(CAST(date_diff('day', c.index_date, t.start_date) AS INTEGER))
               FILTER (WHERE t.line_number > c.index_line AND t.start_date > c.index_date)
               AS next_d,
           CASE WHEN bool_or(t.end_date IS NULL) FILTER (WHERE t.line_number = c.index_line)
                THEN NULL
                ELSE max(CAST(date_diff('day', c.index_date, t.end_date) AS INTEGER))
                         FILTER (WHERE t.line_number = c.index_line) END AS line_end_d,
           bool_or(t.line_number = c.index_line) AS has_line
    FROM {cohort} c JOIN treatments t USING (patient_id)
    WHERE c.index_line IS NOT NULL
    GROUP BY c.rid
)
SELECT c.rid,
       CAST(date_diff('day', c.index_date, p.death_date) AS INTEGER) AS death_d,
       CAST(date_diff('day', c.index_date, coalesce(p.death_date, p.last_followup_date))
            AS INTEGER) AS fu_d,
       a.pd_d, a.last_d, a.resp_d, a.cresp_d, a.bor_unconfirmed, a.bor_confirmed,
       l.next_d, l.line_end_d, coalesce(l.has_line, false) AS has_line
FROM {cohort} c
LEFT JOIN patients p USING (patient_id)
LEFT JOIN assessed a ON a.rid = c.rid
LEFT JOIN lines l ON l.rid = c.rid
