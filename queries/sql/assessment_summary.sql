-- One pass over the tumour assessments of the cohort, per patient: the first PD after index and
-- the last assessment after index (for PFS), and the best response rank of the index line on
-- or after index (for BOR: 1 CR, 2 PR, 3 SD, 4 PD, 5 NE; every line when index_line is NULL).
SELECT c.rowid AS rid,
       min(t.assessment_date) FILTER (WHERE t.response = 'PD'
                                        AND t.assessment_date > c.index_date) AS first_pd,
       max(t.assessment_date) FILTER (WHERE t.assessment_date > c.index_date) AS last_assessment,
       min(CASE t.response WHEN 'CR' THEN 1 WHEN 'PR' THEN 2 WHEN 'SD' THEN 3 WHEN 'PD' THEN 4
                           WHEN 'NE' THEN 5 END)
           FILTER (WHERE t.line_number = c.index_line OR c.index_line IS NULL) AS best_rank
FROM {cohort} c JOIN tumor_assessments t USING (patient_id)
WHERE t.assessment_date >= c.index_date
GROUP BY c.rowid
