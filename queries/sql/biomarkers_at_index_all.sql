-- Every biomarker's result at index for each cohort patient, with the same rule as
-- biomarker_at_index.sql: the latest test with a result on or before index, else the earliest
-- within $grace days after index (the index event's grace window, 0 by default).
SELECT rid, biomarker, value_numeric, value_category
FROM (
    SELECT c.rid AS rid, b.biomarker, b.value_numeric, b.value_category,
           row_number() OVER (
               PARTITION BY c.rid, b.biomarker
               ORDER BY (b.test_date <= c.index_date) DESC,
                        abs(date_diff('day', c.index_date, b.test_date)), b.test_date
           ) AS rn
    FROM {cohort} c JOIN biomarkers b USING (patient_id)
    WHERE b.test_date <= c.index_date + CAST($grace AS INTEGER)
      AND (b.value_numeric IS NOT NULL OR b.value_category IS NOT NULL)
)
WHERE rn = 1
