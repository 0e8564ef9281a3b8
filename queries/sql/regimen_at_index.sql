-- Regimen of the index line: the first treatment row of that line on or after index - 30 days.
SELECT patient_id, arg_min(t.regimen, t.start_date) AS regimen
FROM {cohort} c JOIN treatments t USING (patient_id)
WHERE t.line_number = c.index_line
  AND t.start_date >= c.index_date - INTERVAL 30 DAY
GROUP BY patient_id
