-- Adverse events of cohort patients reduced to one row per (patient, organ class, term): worst
-- grade and first onset in days after index. Window: onset on or after index (any line), up to
-- $window_days after index when given; immune-related events only when $immune_only; only
-- events recorded against the index line when $index_line_only.
SELECT a.patient_id, a.organ_class, a.term,
       max(a.grade) AS max_grade,
       min(date_diff('day', c.index_date, a.onset_date)) AS onset_days
FROM {cohort} c JOIN adverse_events a USING (patient_id)
WHERE a.onset_date >= c.index_date
  AND ($window_days IS NULL OR a.onset_date <= c.index_date + CAST($window_days AS INTEGER))
  AND (NOT $immune_only OR a.immune_related)
  AND (NOT $index_line_only OR a.line_number = c.index_line)
GROUP BY ALL
