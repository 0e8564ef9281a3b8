-- The snapshot's adverse-event terms with integer ids (built once per process).
SELECT CAST(row_number() OVER (ORDER BY organ_class, term) AS INTEGER) AS term_id,
       CAST(dense_rank() OVER (ORDER BY organ_class) AS INTEGER) AS organ_id,
       organ_class, term
FROM (SELECT DISTINCT organ_class, term FROM adverse_events)
