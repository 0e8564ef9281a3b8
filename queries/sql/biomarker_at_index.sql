-- One biomarker's result at index: the latest test with a result on or before index, else the
-- earliest within 30 days after index (tissue is often tested just after the treatment starts).
SELECT patient_id, value_numeric, value_category
FROM (
    SELECT b.patient_id, b.value_numeric, b.value_category,
           row_number() OVER (
               PARTITION BY b.patient_id
               ORDER BY (b.test_date <= c.index_date) DESC,
                        abs(date_diff('day', c.index_date, b.test_date)), b.test_date
           ) AS rn
    FROM {cohort} c JOIN biomarkers b USING (patient_id)
    WHERE b.biomarker = $biomarker
      AND b.test_date <= c.index_date + INTERVAL 30 DAY
      AND (b.value_numeric IS NOT NULL OR b.value_category IS NOT NULL)
)
WHERE rn = 1
