-- The diagnosis that describes each cohort patient at index: the latest diagnosis on or before
-- index + 30 days (a work-up can be dated just after a treatment start), else the earliest one.
SELECT patient_id, cancer_type, icd10, histology_icdo3, stage, diagnosis_date
FROM (
    SELECT d.*,
           row_number() OVER (
               PARTITION BY d.patient_id
               ORDER BY (d.diagnosis_date <= c.index_date + INTERVAL 30 DAY) DESC,
                        CASE WHEN d.diagnosis_date <= c.index_date + INTERVAL 30 DAY
                             THEN d.diagnosis_date END DESC,
                        d.diagnosis_date, d.icd10
           ) AS rn
    FROM {cohort} c JOIN diagnoses d USING (patient_id)
)
WHERE rn = 1
