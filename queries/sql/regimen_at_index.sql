-- Regimen of the index line (its first treatment row on or after index - 30 days) and the
-- sorted, distinct drug classes of that line, e.g. 'anti-CTLA-4 + anti-PD-1'.
SELECT c.patient_id,
       arg_min(t.regimen, t.start_date) AS regimen,
       string_agg(DISTINCT t.drug_class, ' + ' ORDER BY t.drug_class) AS drug_classes
FROM {cohort} c JOIN treatments t USING (patient_id)
WHERE t.line_number = c.index_line
  AND t.start_date >= c.index_date - INTERVAL 30 DAY
GROUP BY c.patient_id
