-- Best overall response for the line at index: among assessments of that line dated on or after
-- index, the best of CR > PR > SD > PD > NE. Patients without one get NULL (not evaluable).
-- When the index is not a treatment start (index_line NULL), every assessment after index counts.
SELECT c.patient_id, c.rowid AS rid,
       CASE ta.best_rank WHEN 1 THEN 'CR' WHEN 2 THEN 'PR' WHEN 3 THEN 'SD' WHEN 4 THEN 'PD'
                         WHEN 5 THEN 'NE' END AS bor
FROM {cohort} c
LEFT JOIN {assessments} ta ON ta.rid = c.rowid
