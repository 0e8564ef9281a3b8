-- Best overall response for the line at index: among assessments of that line dated on or after
-- index, the best of CR > PR > SD > PD > NE. Patients without one get NULL (not evaluable).
-- When the index is not a treatment start (index_line NULL), every assessment after index counts.
SELECT c.patient_id,
       CASE min(CASE t.response WHEN 'CR' THEN 1 WHEN 'PR' THEN 2 WHEN 'SD' THEN 3
                                WHEN 'PD' THEN 4 WHEN 'NE' THEN 5 END)
            WHEN 1 THEN 'CR' WHEN 2 THEN 'PR' WHEN 3 THEN 'SD' WHEN 4 THEN 'PD' WHEN 5 THEN 'NE'
       END AS bor
FROM {cohort} c
LEFT JOIN tumor_assessments t
       ON t.patient_id = c.patient_id
      AND (t.line_number = c.index_line OR c.index_line IS NULL)
      AND t.assessment_date >= c.index_date
GROUP BY c.patient_id
