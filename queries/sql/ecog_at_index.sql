-- ECOG at index: the latest assessment within 90 days before index (index day included), the
-- worst on ties (the compiler's rule for the ecog attribute). The ordering key packs (date,
-- ecog) into one integer (ecog is 0-5), so max_by picks the latest day's worst score.
SELECT c.rid,
       max_by(p.ecog, date_diff('day', DATE '2000-01-01', p.assessment_date) * 8 + p.ecog) AS ecog
FROM {cohort} c JOIN performance_status p USING (patient_id)
WHERE p.assessment_date <= c.index_date
  AND p.assessment_date >= c.index_date - 90
  AND p.ecog IS NOT NULL
GROUP BY c.rid
