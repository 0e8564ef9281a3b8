-- Adverse events of a cohort on or after index, one row per event, with integer keys so that
-- every filter/grouping of the safety panel is a cheap integer aggregation: rid (the patient's
-- row in the analysis base {base}), term_id/organ_id from {terms}. Sorted by patient and term
-- (term ids follow organ classes), so the panel finds its groups as runs of equal keys.
-- window_end_days: the end of the index-line regimen (or the next line's start if earlier),
-- in days after index; NULL while it is ongoing or without an index line (no upper bound).
SELECT b.rid, t.organ_id, t.term_id,
       coalesce(a.immune_related, false) AS immune,
       coalesce(a.line_number = b.index_line, false) AS on_index_line,
       a.grade,
       CAST(date_diff('day', b.index_date, a.onset_date) AS INTEGER) AS onset_days,
       least(b.line_end_d, b.next_d) AS window_end_days
FROM {base} b
JOIN adverse_events a ON a.patient_id = b.patient_id
JOIN {terms} t ON t.organ_class IS NOT DISTINCT FROM a.organ_class
              AND t.term IS NOT DISTINCT FROM a.term
WHERE a.onset_date >= b.index_date
ORDER BY b.rid, t.term_id, onset_days
