-- ECOG at index: the latest assessment within 90 days before index (index day included), the
-- worst on ties (the compiler's rule for the ecog attribute).
SELECT c.rowid AS rid, arg_max(p.ecog, (p.assessment_date, p.ecog)) AS ecog
FROM {cohort} c JOIN performance_status p USING (patient_id)
WHERE p.assessment_date <= c.index_date
  AND p.assessment_date >= c.index_date - INTERVAL 90 DAY
  AND p.ecog IS NOT NULL
GROUP BY c.rowid
